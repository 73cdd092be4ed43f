// What each image's build stage does, on this machine, without a container builder
// (the real build is `npm run test:images`): copy what the Dockerfile copies (through
// .dockerignore), install production dependencies, prune to what the image's commands
// load (bin/image-prune.ts), warm the compile cache; then every command runs through the
// image's ENTRYPOINT from the warmed cache, and the init image holds none of the
// agent's or webhook's packages. Plus image-prune's refusals on code it cannot follow.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_CLI, REPO, SERVICE_NODE_FLAGS, tempDir, type TestContextLike } from '../helpers/cli-process.ts';
import { compileCacheCounts } from '../images/image-tools.ts';
import { readDockerfile, type WarmStep } from '../helpers/dockerfile.ts';

const run = promisify(execFile);

/** `warm`: the Dockerfile's compile-cache warm steps and the directory they fill. */
type Image = { copies: string[]; entrypoint: string[]; warm: { dir: string; steps: WarmStep[] } };

/** What the image build stage needs: the files it copies, its ENTRYPOINT, its warm steps. */
async function imageOf(name: string): Promise<Image> {
  const text = await readFile(join(REPO, name), 'utf8');
  const build = text.slice(text.indexOf(' AS build'), text.lastIndexOf('\nFROM '));
  const sources = [...build.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
  // `COPY . ./` takes what .dockerignore lets through (an allow-list of `!path` lines).
  const allowed = (await readFile(join(REPO, '.dockerignore'), 'utf8')).match(/^!\S+$/gm)?.map((l) => l.slice(1)) ?? [];
  const copies = sources.flatMap((s) => (s === '.' ? allowed : [s])).filter((p) => existsSync(join(REPO, p)));
  const { final, warm } = await readDockerfile(name);
  assert.ok(warm, `${name}: a build stage warms the compile cache`);
  return { copies, entrypoint: final.entrypoint, warm };
}

let installed: Promise<string> | undefined;
let installDir: string | undefined;
after(() => (installDir === undefined ? undefined : rm(installDir, { recursive: true, force: true })));
/** `npm ci --omit=dev` once for this file (both images start from it), in a clean copy of the package files. */
function productionModules(): Promise<string> {
  installed ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llmc-test-'));
    installDir = dir;
    for (const file of ['package.json', 'package-lock.json']) await cp(join(REPO, file), join(dir, file));
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, timeout: 240_000 });
    return join(dir, 'node_modules');
  })();
  return installed;
}

/** The build stage of an image, in a temp dir: copies, production modules, prune, warm. */
async function buildStage(t: TestContextLike, image: Image): Promise<{ dir: string; cache: string }> {
  const dir = await tempDir(t);
  for (const path of image.copies) await cp(join(REPO, path), join(dir, path), { recursive: true });
  await cp(await productionModules(), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  const cache = join(dir, '.compile-cache');
  await run(process.execPath, ['bin/image-prune.ts', 'prune'], { cwd: dir });
  // The Dockerfile's warm steps as written, its cache directory mapped to this one.
  const here = (text: string) => text.replaceAll(image.warm.dir, cache);
  for (const step of image.warm.steps) {
    const args = here(step.args.replace(/\s*>\/dev\/null$/, ''))
      .split(' ')
      .filter(Boolean);
    const env = { PATH: process.env.PATH ?? '', ...(step.cache !== undefined && { NODE_COMPILE_CACHE: here(step.cache) }) };
    await run(process.execPath, [...step.flags, step.script, ...args], { cwd: dir, env });
  }
  return { dir, cache };
}

/** Runs `args` through the image's ENTRYPOINT, or through `command` (the chart's, for its own Deployments). */
async function entry(image: Image, built: { dir: string; cache: string }, args: string[], command = image.entrypoint) {
  const [, ...nodeArgs] = command.map((a) => a.replace('/app/', `${built.dir}/`));
  const env = { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: built.cache, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
  try {
    const { stdout, stderr } = await run(process.execPath, [...nodeArgs, ...args], { cwd: built.dir, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function assertWarm(what: string, stderr: string): void {
  const counts = compileCacheCounts(stderr);
  assert.ok(counts.accepted > 0, `${what}: nothing served from the compile cache ${JSON.stringify(counts)}`);
  assert.equal(counts.missed, 0, `${what}: compiled at run time ${JSON.stringify(counts)}`);
}

test('Dockerfile: pruned production dependencies; every command starts from the warmed cache', { timeout: 300_000 }, async (t) => {
  const image = await imageOf('Dockerfile');
  assert.deepEqual(image.entrypoint.slice(0, 1), ['node']);
  const built = await buildStage(t, image);
  const commands = ['agent', 'webhook', 'init', 'inject', ...(existsSync(join(REPO, 'relay')) ? ['relay'] : [])];
  for (const command of commands) {
    const result = await entry(image, built, [command, '--help']);
    assert.equal(result.code, 0, `${command}: ${result.stderr.split('\n').slice(-5).join('\n')}`);
    assert.match(result.stdout, new RegExp(`^Usage: llm-config ${command}`));
    assertWarm(`${command} --help`, result.stderr);
  }
  // The chart runs its webhook and relay with another command (test/chart/matrix.test.ts).
  for (const command of ['webhook', 'relay']) {
    const result = await entry(image, built, [command, '--help'], ['node', ...SERVICE_NODE_FLAGS, IMAGE_CLI]);
    assert.equal(result.code, 0, `${command}: ${result.stderr.split('\n').slice(-5).join('\n')}`);
    assertWarm(`${command} --help, the chart's command`, result.stderr);
  }
  assert.ok(existsSync(join(built.dir, 'node_modules/@kubernetes/client-node')), 'the webhook needs @kubernetes/client-node');
});

test('Dockerfile.init: only init and its packages; other commands say they are not in the image', { timeout: 300_000 }, async (t) => {
  const image = await imageOf('Dockerfile.init');
  const built = await buildStage(t, image);
  const init = await entry(image, built, ['init', '--help']);
  assert.equal(init.code, 0, init.stderr);
  assertWarm('init --help', init.stderr);
  const agent = await entry(image, built, ['agent', '--help']);
  assert.equal(agent.code, 2);
  assert.match(agent.stderr, /^llm-config: the "agent" command is not part of this image$/m);
  for (const unused of ['@kubernetes/client-node', '@peculiar/x509', 'fast-json-patch'])
    assert.ok(!existsSync(join(built.dir, 'node_modules', unused)), `the init image ships ${unused}, which init never loads`);
});

/** A tiny app tree with image-prune in it: an entry, a command table and `files`. */
async function fixture(t: TestContextLike, files: Record<string, string>): Promise<string> {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'bin'));
  await cp(join(REPO, 'bin/image-prune.ts'), join(dir, 'bin/image-prune.ts'));
  const lock = {
    packages: { '': {}, 'node_modules/used': { dependencies: { dep: '1' } }, 'node_modules/dep': {}, 'node_modules/unused': {} },
  };
  const all: Record<string, string> = {
    'package-lock.json': JSON.stringify(lock),
    'bin/llm-config.js': "await import('./cli.ts');\n",
    'bin/cli.ts': "const c = { a: () => import('../a/a.ts'), gone: () => import('../gone/gone.ts') };\nexport {};\n",
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  for (const name of ['used', 'dep', 'unused']) await mkdir(join(dir, 'node_modules', name), { recursive: true });
  return dir;
}

async function prune(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/image-prune.ts', 'prune'], { cwd: dir }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

test('image-prune keeps the closure: imports, type-only imports ignored, package dependencies; removes the rest', async (t) => {
  const dir = await fixture(t, {
    'a/a.ts': "import type { X } from 'unused';\nimport { b } from './b.ts';\nexport const a = b;\n",
    'a/b.ts': "import 'used';\nexport const b = 1;\n",
    'a/orphan.ts': "import 'unused';\n",
  });
  const result = await prune(dir);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(existsSync(join(dir, 'a/b.ts')) && !existsSync(join(dir, 'a/orphan.ts')));
  assert.ok(existsSync(join(dir, 'node_modules/used')) && existsSync(join(dir, 'node_modules/dep')));
  assert.ok(!existsSync(join(dir, 'node_modules/unused')), 'a type-only import loads nothing at run time');
});

test('image-prune refuses what it cannot follow: a computed import, a module path loaded some other way, a missing module or package', async (t) => {
  const cases: { files: Record<string, string>; error: RegExp }[] = [
    { files: { 'a/a.ts': 'const name = "./b.ts";\nawait import(name);\n' }, error: /a\/a\.ts: import\(name\) has a computed specifier/ },
    {
      files: {
        'a/a.ts':
          'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\nrequire(`x/${"y"}.js`);\n',
      },
      error: /a\/a\.ts: require\(`x\/\$\{"y"\}\.js`\) has a computed specifier/,
    },
    {
      files: { 'a/a.ts': "const load = (p: string) => p;\nload('./b.ts');\n", 'a/b.ts': 'export {};\n' },
      error: /a\/a\.ts names a\/b\.ts, but no import that image-prune follows loads it/,
    },
    { files: { 'a/a.ts': "import './missing.ts';\n" }, error: /a\/a\.ts: imports \.\/missing\.ts, which is not in the image/ },
    { files: { 'a/a.ts': "import 'nowhere';\n" }, error: /imports nowhere, which is not a production dependency/ },
  ];
  for (const { files, error } of cases) {
    const dir = await fixture(t, files);
    const result = await prune(dir);
    assert.equal(result.code, 1, `${JSON.stringify(files)} was accepted`);
    assert.match(result.stderr, error);
    assert.ok(existsSync(join(dir, 'node_modules/unused')), 'nothing is deleted when the closure is refused');
  }
});
