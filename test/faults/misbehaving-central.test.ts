// The central API misbehaves: slow answers past the timeout, malformed JSON, oversized
// bodies, a watch stream cut in the middle of an event, a flapping server. The agent
// keeps serving the last good data, reports the error, and never applies half an event.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { agentArgs, spawnCli, startCentral, tempDir, waitFor, writeValue, type TestContextLike } from '../helpers/cli-process.ts';
import { FaultProxy } from '../helpers/fault-proxy.ts';
import { defer } from '../helpers/cleanup.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');

async function setUp(t: TestContextLike, mode: 'poll' | 'stream') {
  const dir = await tempDir(t);
  const { url: central } = await startCentral(t, ['--seed', SEED]);
  const proxy = new FaultProxy(central);
  await proxy.start();
  defer(t, () => proxy.stop());
  const agent = spawnCli(
    t,
    agentArgs({
      url: proxy.url,
      namespaces: 'ml-service',
      dir,
      socket: 'off',
      extra: [
        '--sync-mode',
        mode,
        '--poll-interval',
        '1s',
        '--request-timeout',
        '500ms',
        '--max-response-bytes',
        '65536',
        '--backoff-base',
        '100ms',
        '--backoff-max',
        '400ms',
        '--heartbeat-timeout',
        '2s',
      ],
    }),
  );
  const http = `http://${String((await agent.waitForLog((l) => l.msg === 'agent started')).http)}`;
  await waitFor(async () => ((await fetch(`${http}/v1/values/ml-service/model`)).status === 200 ? true : undefined));
  const status = async () =>
    (await (await fetch(`${http}/v1/status`)).json()) as { lastError: string | null; connected: boolean; revision: number };
  const model = async () => (await fetch(`${http}/v1/values/ml-service/model`)).text();
  return { dir, central, proxy, agent, http, status, model };
}

test('slow, malformed and oversized answers: last good data kept and served, error reported, recovery after', async (t) => {
  const s = await setUp(t, 'poll');
  const file = async () => readFile(join(s.dir, 'files', 'ml-service.json'), 'utf8');
  const before = await waitFor(() => file().catch(() => undefined));
  for (const [fault, message] of [
    ['slow', /Headers Timeout|timeout/i],
    ['malformed', /not JSON/],
    ['oversized', /body larger than 65536 bytes/],
  ] as const) {
    s.proxy.fault = fault;
    const status = await waitFor(
      async () => {
        const current = await s.status();
        return current.lastError && message.test(current.lastError) ? current : undefined;
      },
      undefined,
      () => `a ${fault} error in /v1/status`,
    );
    assert.ok(status.lastError);
    assert.equal(await s.model(), 'gpt-4o-mini', `${fault}: still serving the last good value`);
    assert.equal(await file(), before, `${fault}: file untouched`);
  }
  s.proxy.fault = 'none';
  await writeValue(s.central, 'ml-service', 'model', 'after-faults');
  await waitFor(async () => ((await s.model()) === 'after-faults' ? true : undefined));
  assert.equal((await s.status()).lastError, null);
});

test('a watch stream cut mid-event: half an event is never applied; the agent reconnects and catches up', async (t) => {
  const s = await setUp(t, 'stream');
  await s.agent.waitForLog((l) => l.msg === 'watch stream connected');
  s.proxy.fault = 'cut-stream';
  await writeValue(s.central, 'ml-service', 'model', 'written-during-cut');
  await waitFor(() => (s.proxy.seen.some((r) => r.fault === 'cut-stream') ? true : undefined));
  const duringCut = await s.model();
  assert.ok(duringCut === 'gpt-4o-mini' || duringCut === 'written-during-cut', `never a torn value: ${duringCut}`);
  s.proxy.fault = 'none';
  await waitFor(
    async () => ((await s.model()) === 'written-during-cut' ? true : undefined),
    undefined,
    () => 'the resumed stream (Last-Event-ID) to deliver the write',
  );
  const reconnects = s.agent.logs.filter((l) => l.msg === 'watch stream connected');
  assert.ok(reconnects.length >= 2);
  assert.ok(reconnects.at(-1)!.resumeFrom !== null, 'resumed with Last-Event-ID');
});

test('a flapping central API: every read answered, the agent ends in sync', async (t) => {
  const s = await setUp(t, 'stream');
  let failed = 0;
  let reads = 0;
  let reading = true;
  const reader = (async () => {
    while (reading) {
      reads++;
      if ((await fetch(`${s.http}/v1/values/ml-service/model`).catch(() => undefined))?.status !== 200) failed++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  for (let flap = 0; flap < 5; flap++) {
    s.proxy.fault = flap % 2 === 0 ? 'malformed' : 'none';
    const seen = s.proxy.seen.length;
    s.proxy.dropConnections();
    // each flap lasts until the agent has come back once (a new request), not a fixed time
    await waitFor(
      () => s.proxy.seen.length > seen,
      undefined,
      () => `a request after flap ${flap}`,
    );
  }
  s.proxy.fault = 'none';
  s.proxy.dropConnections();
  await writeValue(s.central, 'ml-service', 'model', 'after-flapping');
  await waitFor(async () => ((await s.model()) === 'after-flapping' ? true : undefined));
  reading = false;
  await reader;
  t.diagnostic(`${reads} reads during flapping, ${failed} failed`);
  assert.equal(failed, 0);
});
