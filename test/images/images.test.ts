// test:images (run by .ci/run, not by `npm test`: minutes of build on two cores, root).
// Builds Dockerfile and Dockerfile.init as written with buildah against the locally made
// base image, then runs each image with podman as the chart runs it (read-only root, no
// capabilities, the image's own user): every command's --help, `init` warming files
// into a mounted directory from a dev-server on the host's loopback, the agent serving
// them, and Node's compile cache hit (NODE_DEBUG_NATIVE=COMPILE_CACHE: code served from
// the cache, nothing compiled). Prints image sizes and start-up times.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chown, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defer } from '../helpers/cleanup.ts';
import { IMAGE_CLI, REPO, SERVICE_NODE_FLAGS, spawnCli, tempDir, waitFor } from '../helpers/cli-process.ts';
import { buildArgs, compileCacheCounts, containerEnv, imageSize, podmanRunArgs, run, runLoud, STATE_DIR } from './image-tools.ts';

const BASE = 'docker.io/library/node:24.21.0-bookworm-slim';
const MAIN = 'localhost/llm-config:test-images';
const INIT = 'localhost/llm-config-init:test-images';
const IMAGE_UID = 65532;
/** Commands the main image leaves out on purpose (.dockerignore): they need examples/ and are for laptops. */
const NOT_IN_MAIN = ['dev', 'dev-server'];
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

type ProbeResult = {
  commands: { command: string; code: number; stdout: string; stderr: string }[];
  warmMs: number[];
  coldMs: number[];
  coldAccepted: number;
};

async function preconditions(): Promise<void> {
  assert.equal(process.getuid?.(), 0, 'test:images runs as root (debootstrap, buildah mount); .ci/run does');
  for (const tool of ['buildah', 'podman', 'runc', 'debootstrap', 'curl']) {
    const found = await run(process.env, 'sh', ['-c', `command -v ${tool}`], 10_000);
    assert.equal(found.code, 0, `${tool} is missing: apt-get install buildah podman runc debootstrap curl (.ci/run does)`);
  }
}

/**
 * One container per image runs every command through the image's ENTRYPOINT (see
 * probe.ts), or through `command` when given (the chart's command for its own
 * Deployments), and times one.
 */
async function probe(env: NodeJS.ProcessEnv, image: string, commands: string[], timed: string, command?: string[]): Promise<ProbeResult> {
  const entry = await run(env, 'podman', ['image', 'inspect', '--format', '{{json .Config.Entrypoint}}', image], 60_000);
  assert.equal(entry.code, 0, entry.stderr);
  const args = podmanRunArgs(
    image,
    {
      entrypoint: 'node',
      mounts: [`${join(REPO, 'test/images/probe.ts')}:/probe/probe.ts:ro`],
      env: { PROBE_ENTRYPOINT: command === undefined ? entry.stdout.trim() : JSON.stringify(command), PROBE_TIMED: timed },
    },
    ['/probe/probe.ts', ...commands],
  );
  const out = await run(env, 'podman', args, 600_000);
  assert.equal(out.code, 0, `probe in ${image} failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as ProbeResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function assertCacheHit(what: string, stderr: string): void {
  const counts = compileCacheCounts(stderr);
  assert.ok(counts.accepted > 0, `${what}: no compile-cache entry accepted (${JSON.stringify(counts)})`);
  assert.equal(counts.missed, 0, `${what}: modules compiled at run time, the build did not warm them (${JSON.stringify(counts)})`);
  assert.equal(counts.rejected, 0, `${what}: cache entries unreadable or rejected (${JSON.stringify(counts)})`);
}

test('images: build both Dockerfiles, run them hardened, compile cache hit', { timeout: 3_600_000 }, async (t) => {
  await preconditions();
  const env = await containerEnv();
  process.stderr.write(`images: storage and cached base image in ${STATE_DIR}\n`);
  assert.equal(await runLoud(env, 'bash', [join(REPO, 'test/images/make-base-image.sh')], 1_800_000), 0, 'making the base image failed');

  const built: Record<string, number> = {};
  for (const [dockerfile, tag] of [
    ['Dockerfile', MAIN],
    ['Dockerfile.init', INIT],
  ] as const) {
    const started = performance.now();
    assert.equal(await runLoud(env, 'buildah', buildArgs(dockerfile, tag), 1_800_000), 0, `buildah build -f ${dockerfile} failed`);
    built[dockerfile] = performance.now() - started;
  }
  const sizes = { base: await imageSize(env, BASE), main: await imageSize(env, MAIN), init: await imageSize(env, INIT) };

  const usage = await run(env, 'podman', podmanRunArgs(MAIN, {}, ['--help']), 300_000);
  assert.equal(usage.code, 0, usage.stderr);
  const commands = [...usage.stdout.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1]!);
  assert.ok(commands.includes('agent') && commands.includes('init'), `commands listed by --help: ${commands.join(', ')}`);

  const main = await probe(env, MAIN, commands, 'agent');
  const init = await probe(env, INIT, commands, 'init');
  // The chart runs its webhook and relay as `node <service flags> <CLI>` (test/chart/matrix.test.ts).
  const services = await probe(env, MAIN, ['webhook', 'relay'], 'webhook', ['node', ...SERVICE_NODE_FLAGS, IMAGE_CLI]);

  assert.equal(
    main.coldAccepted + init.coldAccepted + services.coldAccepted,
    0,
    'the cold start-up figure must not be served from a cache',
  );

  await t.test("main image: the chart's webhook and relay command runs from the warmed cache", () => {
    for (const r of services.commands) {
      assert.equal(r.code, 0, `${r.command} --help: ${r.stderr.split('\n').slice(-5).join('\n')}`);
      assertCacheHit(`main image, chart command, ${r.command} --help`, r.stderr);
    }
  });

  await t.test('main image: every command but dev/dev-server runs from the warmed cache', () => {
    for (const r of main.commands) {
      if (NOT_IN_MAIN.includes(r.command)) {
        assert.equal(r.code, 2);
        assert.match(r.stderr, new RegExp(`the "${r.command}" command is not part of this image`));
        continue;
      }
      assert.equal(r.code, 0, `${r.command} --help: ${r.stderr.split('\n').slice(-5).join('\n')}`);
      assert.match(r.stdout, new RegExp(`^Usage: llm-config ${r.command}`));
      assertCacheHit(`main image, ${r.command} --help`, r.stderr);
    }
  });

  await t.test("init image: init runs from the warmed cache; no other command; none of the webhook's packages", async () => {
    for (const r of init.commands) {
      if (r.command !== 'init') {
        assert.equal(r.code, 2, `${r.command} in the init image`);
        assert.match(r.stderr, new RegExp(`the "${r.command}" command is not part of this image`));
        continue;
      }
      assert.equal(r.code, 0, r.stderr);
      assertCacheHit('init image, init --help', r.stderr);
    }
    const ls = await run(env, 'podman', podmanRunArgs(INIT, { entrypoint: 'ls' }, ['/app/node_modules']), 300_000);
    assert.equal(ls.code, 0, ls.stderr);
    for (const unused of ['@kubernetes', '@peculiar', 'fast-json-patch'])
      assert.ok(!ls.stdout.split('\n').includes(unused), `the init image ships ${unused}, which init never loads`);
  });

  await t.test('init warms files into a mounted directory; the agent serves them', async (t) => {
    const central = spawnCli(t, ['dev-server', '--addr', '127.0.0.1:0', '--seed', join(REPO, 'test/fixtures/seed.yaml')]);
    const url = await central.listeningUrl();
    const data = await tempDir(t);
    await chown(data, IMAGE_UID, IMAGE_UID);
    const flags = ['--central-url', url, '--namespaces', 'ml-service,team/ml', '--output-dir', '/data/files', '--cache-dir', '/data/cache'];
    const initRun = await run(env, 'podman', podmanRunArgs(INIT, { mounts: [`${data}:/data`] }, ['init', ...flags]), 300_000);
    assert.equal(initRun.code, 0, initRun.stderr);
    assert.equal(JSON.parse(await readFile(join(data, 'files/ml-service.json'), 'utf8')).model, 'gpt-4o-mini');

    const name = `llmc-agent-${process.pid}`;
    defer(t, async () => void (await run(env, 'podman', ['rm', '--force', '--time', '0', name], 120_000)));
    const agentArgs = ['agent', ...flags, '--http-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--socket', '/data/agent.sock'];
    const agent = spawn(
      'podman',
      podmanRunArgs(MAIN, { mounts: [`${data}:/data`], name, env: { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' } }, agentArgs),
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    agent.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const started = await waitFor(
      () => stderr.split('\n').find((l) => l.includes('"msg":"agent started"')),
      300_000,
      () => `agent started; stderr:\n${stderr.slice(-3000)}`,
    );
    const { http, warm } = JSON.parse(started) as { http: string; warm: boolean };
    assert.equal(warm, true, 'the agent starts warm from the snapshot init wrote');
    const tcp = await run(env, 'curl', ['-fsS', `http://${http}/api/v1/configs/ml-service/model`], 30_000);
    assert.equal(tcp.code, 0, tcp.stderr);
    assert.equal(JSON.parse(tcp.stdout).value, 'gpt-4o-mini');
    const socket = await run(
      env,
      'curl',
      ['-fsS', '--unix-socket', join(data, 'agent.sock'), 'http://agent/v1/values/ml-service/temperature'],
      30_000,
    );
    assert.equal(socket.code, 0, socket.stderr);
    assert.equal(socket.stdout.trim(), '0.2');
    // Every module the agent imports comes from the cache. A package's own lazy require on
    // first use (undici compiles llhttp's WASM wrapper at the first connection) is not
    // imported by the warm step, compiles once, and is reported, not failed.
    const cacheLines = stderr.split('\n').filter((l) => l.startsWith('[compile cache]'));
    assertCacheHit('running agent', cacheLines.filter((l) => !l.includes('/node_modules/')).join('\n'));
    const lazy = cacheLines.filter((l) => l.includes('/node_modules/') && l.includes('was not initialized'));
    process.stderr.write(
      `images: running agent compiled ${lazy.length} package file(s) on first use: ${lazy.map((l) => l.split(' ')[7]).join(', ')}\n`,
    );
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    await run(env, 'podman', ['stop', '--time', '15', name], 120_000);
    await exited;
  });

  process.stderr.write(
    [
      '',
      'images: figures (this machine; podman with vfs storage adds seconds per container, so start-up is timed inside it)',
      `  build (layer cache as found): Dockerfile ${(built.Dockerfile! / 1000).toFixed(0)} s, Dockerfile.init ${(built['Dockerfile.init']! / 1000).toFixed(0)} s`,
      `  size: main ${mb(sizes.main)}, init ${mb(sizes.init)}, base node:24.21.0-bookworm-slim ${mb(sizes.base)}` +
        ` (own layers: main ${mb(sizes.main - sizes.base)}, init ${mb(sizes.init - sizes.base)})`,
      `  agent --help, median of ${main.warmMs.length}: ${median(main.warmMs).toFixed(0)} ms with the warmed cache, ${median(main.coldMs).toFixed(0)} ms cold`,
      `  init --help, median of ${init.warmMs.length}: ${median(init.warmMs).toFixed(0)} ms with the warmed cache, ${median(init.coldMs).toFixed(0)} ms cold`,
      '',
    ].join('\n'),
  );
});
