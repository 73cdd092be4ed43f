// `llm-config dev` (`npm start`): every listener has a flag and a variable, a busy one is
// refused in one line naming the flag (no stack trace), and the "running" banner, with
// the addresses actually bound, appears only once everything listens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { defer } from '../helpers/cleanup.ts';
import { spawnCli, tempDir, waitFor, type TestContextLike } from '../helpers/cli-process.ts';

async function occupy(t: TestContextLike, listen: (server: Server) => void): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  listen(server);
  await once(server, 'listening');
  defer(t, () => new Promise((resolve) => server.close(resolve)));
  return server;
}

async function busyTcpPort(t: TestContextLike): Promise<string> {
  const server = await occupy(t, (s) => s.listen(0, '127.0.0.1'));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

const FREE = { central: '127.0.0.1:0', http: '127.0.0.1:0', admin: '127.0.0.1:0' };

function devArgs(dir: string, at: { central: string; http: string; admin: string }, socket = join(dir, 'agent.sock')): string[] {
  return ['dev', '--dir', dir, '--central-addr', at.central, '--http-addr', at.http, '--admin-addr', at.admin, '--socket', socket];
}

test('dev: every listener moves by flag or variable; the banner shows the bound addresses; values are served', async (t) => {
  const dir = await tempDir(t);
  const socket = join(dir, 'sock', 'agent.sock');
  await mkdir(join(dir, 'sock'));
  const dev = spawnCli(t, ['dev', '--dir', dir, '--central-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0'], {
    LLM_CONFIG_ADMIN_ADDR: '127.0.0.1:0',
    LLM_CONFIG_SOCKET: socket,
  });
  await waitFor(
    () => dev.stdout.includes('is running'),
    undefined,
    () => `banner; stderr:\n${dev.stderrText.join('\n')}`,
  );
  const http = /agent local API\s+(http:\/\/127\.0\.0\.1:\d+)\s+and\s+(\S+)/.exec(dev.stdout);
  assert.ok(http, dev.stdout);
  assert.notEqual(http[1], 'http://127.0.0.1:0');
  assert.equal(http[2], socket);
  const admin = /agent health and metrics\s+(http:\/\/127\.0\.0\.1:\d+)\/readyz/.exec(dev.stdout);
  assert.ok(admin && !admin[1]!.endsWith(':0'), dev.stdout);
  const central = /central API \(reference dev-server\)\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(dev.stdout);
  assert.ok(central && !central[1]!.endsWith(':0'), dev.stdout);

  const answer = await fetch(`${http[1]}/api/v1/configs/ml-service/model`);
  assert.equal(answer.status, 200);
  assert.equal(((await answer.json()) as { value: unknown }).value, 'gpt-4o-mini');
  assert.equal((await fetch(`${admin![1]}/readyz`)).status, 200);
  assert.equal(await dev.stop(), 0);
});

const busyCases: { listener: string; flag: string; setUp: (t: TestContextLike, dir: string) => Promise<string[]> }[] = [
  {
    listener: 'central API',
    flag: '--central-addr',
    setUp: async (t, dir) => devArgs(dir, { ...FREE, central: await busyTcpPort(t) }),
  },
  { listener: 'agent local API', flag: '--http-addr', setUp: async (t, dir) => devArgs(dir, { ...FREE, http: await busyTcpPort(t) }) },
  { listener: 'agent admin', flag: '--admin-addr', setUp: async (t, dir) => devArgs(dir, { ...FREE, admin: await busyTcpPort(t) }) },
  {
    listener: 'agent socket',
    flag: '--socket',
    setUp: async (t, dir) => {
      const path = join(dir, 'taken.sock');
      await occupy(t, (s) => s.listen(path));
      return devArgs(dir, FREE, path);
    },
  },
];

for (const { listener, flag, setUp } of busyCases) {
  test(`dev: a busy ${listener} is one line naming ${flag}, exit 2, no banner`, async (t) => {
    const dir = await tempDir(t);
    const args = await setUp(t, dir);
    const value = args[args.indexOf(flag) + 1]!;
    const dev = spawnCli(t, args);
    assert.equal(await dev.exitCode(), 2);
    const plain = dev.stderrText.filter((line) => !line.startsWith('{'));
    assert.equal(plain.length, 1, `one line, no stack trace:\n${dev.stderrText.join('\n')}`);
    assert.ok(plain[0]!.startsWith(`llm-config dev: ${flag}=${value}: `), plain[0]);
    assert.doesNotMatch(dev.stdout, /is running/);
  });
}
