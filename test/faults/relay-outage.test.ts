// Upstream away for RELAY_OUTAGE_SECONDS (default 60): an agent behind the relay
// reads continuously and never fails; the relay keeps serving its last-known-good
// (marked stale); a relay restarted in the middle of the outage serves it again from
// --state-dir, is ready, and a new pod's init succeeds against it. When upstream is
// back, a write reaches the agent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { agentArgs, CliProcess, relayArgs, spawnCli, tempDir, WAIT_MS, waitFor, writeValue } from '../helpers/cli-process.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const SECONDS = Number(process.env.RELAY_OUTAGE_SECONDS ?? 60);

test(`relay through a ${SECONDS} s upstream outage, restarted in the middle of it`, { timeout: (SECONDS + 180) * 1000 }, async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'central.json');
  const central = spawnCli(t, ['dev-server', '--addr', '127.0.0.1:0', '--seed', SEED, '--data', data]);
  const centralUrl = await central.listeningUrl();
  const outageRelayArgs = (addr: string) =>
    relayArgs(
      centralUrl,
      ['--auth', 'none', '--poll-interval', '1s', '--namespaces', 'ml-service,team/ml', '--state-dir', join(dir, 'relay-state')],
      addr,
    );
  let relay = spawnCli(t, outageRelayArgs('127.0.0.1:0'));
  const started = await relay.waitForLog((l) => l.msg === 'relay started');
  const relayAddr = String(started.http);
  const relayUrl = `http://${relayAddr}`;
  await waitFor(async () => ((await fetch(`http://${String(started.admin)}/readyz`)).ok ? true : undefined));
  const agent = spawnCli(t, agentArgs({ url: relayUrl, namespaces: 'ml-service,team/ml', dir, socket: 'off' }));
  const agentUrl = `http://${String((await agent.waitForLog((l) => l.msg === 'agent started')).http)}`;
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  const expected = await waitFor(async () => {
    const r = await fetch(`${agentUrl}/v1/values/ml-service/model`);
    return r.ok ? r.text() : undefined;
  });

  let running = true;
  const counts = { reads: 0, failed: 0 };
  const reader = (async () => {
    while (running) {
      const response = await fetch(`${agentUrl}/v1/values/ml-service/model`).catch(() => undefined);
      counts.reads++;
      if (response?.status !== 200 || (await response.text()) !== expected) counts.failed++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const port = new URL(centralUrl).port;
  await central.stop();
  const outageStart = Date.now();
  const stale = await waitFor(async () => {
    const r = await fetch(`${relayUrl}/api/v1/configs/ml-service`);
    return r.headers.get('x-config-stale') === 'true' ? r : undefined;
  });
  assert.equal(stale.status, 200, 'last-known-good served during the outage');
  assert.equal(stale.headers.get('warning'), '110 - "Response is Stale"');

  // Half way through: the relay restarts (same address), from its state only.
  await waitFor(
    () => (Date.now() - outageStart >= (SECONDS * 1000) / 2 ? true : undefined),
    SECONDS * 1000 + WAIT_MS, // a phase with a length: that, then the usual bound
    () => 'half the outage',
  );
  assert.equal(await relay.stop(), 0, 'SIGTERM: exit 0');
  relay = spawnCli(t, outageRelayArgs(relayAddr));
  const restarted = await relay.waitForLog((l) => l.msg === 'relay started');
  assert.ok(relay.logs.some((l) => l.msg === 'restored last-known-good state' && l.namespaces === 2));
  const ready = await fetch(`http://${String(restarted.admin)}/readyz`);
  assert.equal(ready.status, 200, await ready.text());
  const fromState = await fetch(`${relayUrl}/api/v1/configs/ml-service`);
  assert.equal(fromState.status, 200);
  assert.equal(fromState.headers.get('x-config-stale'), 'true');
  assert.ok(((await fromState.json()) as Array<{ key: string }>).some((e) => e.key === 'model'));
  // A new pod starts while upstream is still down: its init container gets everything from the relay.
  const init = new CliProcess([
    'init',
    '--central-url',
    relayUrl,
    '--namespaces',
    'ml-service,team/ml',
    '--output-dir',
    join(dir, 'new-pod', 'files'),
    '--cache-dir',
    join(dir, 'new-pod', 'cache'),
  ]);
  assert.equal(await init.exitCode(), 0, init.stderrText.join('\n'));

  // The outage lasts its length and until the agent has been read through the restarted relay's time too.
  const readsAfterRestart = counts.reads;
  await waitFor(
    () => (Date.now() - outageStart >= SECONDS * 1000 && counts.reads >= readsAfterRestart + 10 ? true : undefined),
    SECONDS * 1000 + WAIT_MS,
    () => `the end of the ${SECONDS} s outage and 10 agent reads after the relay restart (${counts.reads - readsAfterRestart} so far)`,
  );
  running = false;
  await reader;
  t.diagnostic(`${counts.reads} agent reads through the outage, ${counts.failed} failed`);
  assert.equal(counts.failed, 0);
  assert.ok(counts.reads > 0);

  const back = spawnCli(t, ['dev-server', '--addr', `127.0.0.1:${port}`, '--data', data]);
  await back.listeningUrl();
  await writeValue(centralUrl, 'ml-service', 'model', 'after-outage');
  await waitFor(
    async () => ((await (await fetch(`${agentUrl}/v1/values/ml-service/model`)).text()) === 'after-outage' ? true : undefined),
    undefined,
    () => 'the write made after the outage, read from the agent',
  );
  const fresh = await fetch(`${relayUrl}/api/v1/configs/ml-service`);
  assert.equal(fresh.headers.get('x-config-stale'), null, 'no longer stale');
});
