// SPEC §10 "central outage": the central API is gone for 60 s (FAULT_OUTAGE_SECONDS, the
// scenario's length) and until enough reads and attempts were seen, while a client
// reads continuously and files are checked: 0 failed reads, 0 changed or corrupt files,
// reconnect waits jittered within the default backoff (1 s base, 60 s cap, from the
// agent's log), resync once it is back. Wall-clock figures are in bench/outage.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runOutage } from '../helpers/outage-run.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const OUTAGE_SECONDS = Number(process.env.FAULT_OUTAGE_SECONDS ?? 60);

test(`central outage of ${OUTAGE_SECONDS}s: 0 failed reads, files intact, jittered reconnects, resync after`, {
  timeout: (OUTAGE_SECONDS + 100) * 1000,
}, async (t) => {
  const r = await runOutage(OUTAGE_SECONDS, SEED, [], (p) => p.reads >= 200 && p.fileChecks >= 20 && p.backoffWaits.length >= 2);
  const delays = r.backoffWaits.map((w) => w.delayMs);
  t.diagnostic(
    `outage ${OUTAGE_SECONDS}s: ${r.reads} reads, ${r.failedReads} failed; ${r.fileChecks} file checks, ${r.changedOrCorruptFiles} changed or corrupt; ` +
      `${r.attempts} reconnect attempts, waits chosen ms: ${delays.join(',')}; resync ${r.resyncMs} ms after the restart`,
  );
  assert.equal(r.failedReads, 0);
  assert.equal(r.changedOrCorruptFiles, 0);
  // Never a storm: every attempt after the first followed a logged backoff wait...
  assert.ok(r.attempts <= r.backoffWaits.length + 1, `${r.attempts} attempts for ${r.backoffWaits.length} waits`);
  // ...within [1 s, min(60 s, 1 s · 2^attempt)], and jittered.
  for (const { attempt, delayMs } of r.backoffWaits)
    assert.ok(delayMs >= 1000 && delayMs <= Math.min(60_000, 1000 * 2 ** attempt), `attempt ${attempt}: wait ${delayMs} ms`);
  assert.ok(new Set(delays).size > 1, `waits are jittered: ${delays.join(',')}`);
});
