// The central API goes away: the agent keeps its files, reconnects with growing,
// jittered gaps (counted by a TCP recorder holding the port), and resyncs when the
// real server is back on the same port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { readFile, readlink } from 'node:fs/promises';
import { CliProcess, spawnCli, readJson, tempDir, waitFor, writeValue } from '../helpers/cli-process.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');

test('central outage: files kept, reconnects back off with jitter, resync after restart', async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'central.json');
  const central = spawnCli(t, ['dev-server', '--addr', '127.0.0.1:0', '--seed', SEED, '--data', data]);
  const url = await central.listeningUrl();
  const port = Number(new URL(url).port);
  const files = join(dir, 'files');
  const agent = spawnCli(t, ['agent', '--central-url', url, '--namespaces', 'ml-service', '--output-dir', files,
    '--cache-dir', join(dir, 'cache'), '--http-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--socket', join(dir, 'agent.sock'),
    '--backoff-base', '200ms', '--backoff-max', '2s', '--heartbeat-timeout', '2s']);
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  await waitFor(async () => (await readFile(join(files, 'ml-service.json'), 'utf8').catch(() => undefined)), 5000);
  const before = { link: await readlink(join(files, '..data')), content: await readFile(join(files, 'ml-service.json'), 'utf8') };

  await central.stop();
  const attempts: number[] = [];
  const recorder = createServer((socket) => {
    attempts.push(Date.now());
    socket.destroy();
  }).listen(port, '127.0.0.1');
  await once(recorder, 'listening');
  await new Promise((r) => setTimeout(r, 8000));
  recorder.close();
  await once(recorder, 'close');

  assert.deepEqual({ link: await readlink(join(files, '..data')), content: await readFile(join(files, 'ml-service.json'), 'utf8') }, before,
    'files untouched during the outage');
  const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
  t.diagnostic(`reconnect attempts in 8 s: ${attempts.length}; gaps ms: ${gaps.join(', ')}`);
  assert.ok(attempts.length >= 3 && attempts.length <= 30, `a bounded number of attempts, not a storm: ${attempts.length}`);
  assert.ok(gaps.every((g) => g <= 2000 + 300), 'every gap within the 2 s cap');
  const late = gaps.slice(Math.floor(gaps.length / 2));
  assert.ok(Math.max(...late) > 400, 'later gaps grow past the first ceilings');
  assert.ok(new Set(gaps.map((g) => Math.round(g / 50))).size > 1, 'gaps are jittered, not one beat');

  const restarted = spawnCli(t, ['dev-server', '--addr', `127.0.0.1:${port}`, '--data', data]);
  await restarted.listeningUrl();
  await agent.waitForLog((l) => l.msg === 'watch stream connected' && l.attempt !== 1, 5000);
  await writeValue(url, 'ml-service', 'model', 'after-outage');
  await waitFor(async () => ((await readJson(join(files, 'ml-service.json'))) as { model: string }).model === 'after-outage', 5000);
});
