// The central API goes away: the agent keeps its files and serves reads, reconnects
// with jittered backoff waits within its settings (counted by a TCP recorder holding
// the port, and read from the agent's own log), and resyncs when the real server is
// back on the same port. The outage ends on a condition (enough attempts and reads
// seen), never after a fixed time; the 60 s version with default backoff is in
// test/faults, and wall-clock figures are in bench/outage.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runOutage } from '../helpers/outage-run.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const BASE_MS = 200;
const CAP_MS = 2000;

test('central outage: files kept, reads served, reconnects back off with jitter, resync after restart', async (t) => {
  const r = await runOutage(
    0,
    SEED,
    ['--backoff-base', `${BASE_MS}ms`, '--backoff-max', `${CAP_MS / 1000}s`, '--heartbeat-timeout', '2s'],
    (p) => p.attempts >= 4 && p.backoffWaits.length >= 4 && p.reads >= 50 && p.fileChecks >= 5,
  );
  const delays = r.backoffWaits.map((w) => w.delayMs);
  t.diagnostic(`${r.attempts} reconnect attempts; waits chosen (ms): ${delays.join(', ')}; ${r.reads} reads, ${r.failedReads} failed`);
  assert.equal(r.failedReads, 0);
  assert.equal(r.changedOrCorruptFiles, 0, 'files untouched during the outage');
  // Not a storm: every attempt after the first followed a logged backoff wait.
  assert.ok(r.attempts <= r.backoffWaits.length + 1, `${r.attempts} attempts for ${r.backoffWaits.length} waits`);
  // Each wait within [base, min(cap, base · 2^attempt)]: the ceiling grows with the attempt, up to the cap.
  for (const { attempt, delayMs } of r.backoffWaits)
    assert.ok(
      delayMs >= BASE_MS && delayMs <= Math.min(CAP_MS, BASE_MS * 2 ** attempt),
      `attempt ${attempt}: wait ${delayMs} ms outside [${BASE_MS}, min(${CAP_MS}, ${BASE_MS}·2^${attempt})]`,
    );
  assert.ok(new Set(delays).size > 1, `waits are jittered, not one beat: ${delays.join(', ')}`);
});
