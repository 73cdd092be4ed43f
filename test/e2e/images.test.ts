// What each image copies, with production dependencies only (`npm ci --omit=dev` in a
// clean copy), runs its entry command — so nothing needed at run time hides in
// devDependencies or in a folder the Dockerfile forgot. Read from the Dockerfiles.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO, tempDir } from '../helpers/cli-process.ts';

const run = promisify(execFile);

type Image = { copies: string[]; entrypoint: string[] };

async function readDockerfile(name: string): Promise<Image> {
  const text = await readFile(join(REPO, name), 'utf8');
  const build = text.slice(text.indexOf(' AS build'));
  const copies = [...build.matchAll(/^COPY (?!--from)(\S+) \S+$/gm)].map((m) => m[1]!);
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(text)![1]!) as string[];
  return { copies, entrypoint };
}

async function prepare(t: Parameters<typeof tempDir>[0], image: Image): Promise<string> {
  const dir = await tempDir(t);
  for (const path of ['package.json', 'package-lock.json', ...image.copies])
    await cp(join(REPO, path), join(dir, path), { recursive: true });
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, timeout: 240_000 });
  return dir;
}

async function entry(image: Image, dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [, ...nodeArgs] = image.entrypoint.map((a) => a.replace('/app/', `${dir}/`));
  try {
    const { stdout, stderr } = await run(process.execPath, [...nodeArgs, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('Dockerfile: production dependencies only; agent, webhook, init and inject start', { timeout: 300_000 }, async (t) => {
  const image = await readDockerfile('Dockerfile');
  assert.deepEqual(image.entrypoint.slice(0, 1), ['node']);
  const dir = await prepare(t, image);
  for (const command of ['agent', 'webhook', 'init', 'inject']) {
    const result = await entry(image, dir, [command, '--help']);
    assert.equal(result.code, 0, `${command}: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^Usage: llm-config ${command}`));
  }
});

test('Dockerfile.init: production dependencies only; init starts, other commands say they are not in the image', {
  timeout: 300_000,
}, async (t) => {
  const image = await readDockerfile('Dockerfile.init');
  const dir = await prepare(t, image);
  const init = await entry(image, dir, ['init', '--help']);
  assert.equal(init.code, 0, init.stderr);
  const agent = await entry(image, dir, ['agent', '--help']);
  assert.equal(agent.code, 2);
  assert.equal(agent.stderr, 'llm-config: the "agent" command is not part of this image\n');
});
