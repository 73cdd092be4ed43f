// SPEC §10 "central outage": the central API is gone for 60 s (FAULT_OUTAGE_SECONDS)
// while a client reads continuously and files are checked: 0 failed reads, 0 changed or
// corrupt files, reconnect attempts spread by jittered backoff, resync once it is back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runOutage } from '../helpers/outage-run.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const OUTAGE_SECONDS = Number(process.env.FAULT_OUTAGE_SECONDS ?? 60);

test(`central outage of ${OUTAGE_SECONDS}s: 0 failed reads, files intact, jittered reconnects, resync after`, {
  timeout: (OUTAGE_SECONDS + 100) * 1000,
}, async (t) => {
  const r = await runOutage(OUTAGE_SECONDS, SEED);
  t.diagnostic(
    `outage ${OUTAGE_SECONDS}s: ${r.reads} reads, ${r.failedReads} failed; ${r.fileChecks} file checks, ${r.changedOrCorruptFiles} changed or corrupt; ` +
      `${r.reconnectGapsMs.length + 1} reconnect attempts, gaps ms: ${r.reconnectGapsMs.join(',')}; resync ${r.resyncMs} ms after the restart`,
  );
  assert.equal(r.failedReads, 0);
  assert.equal(r.changedOrCorruptFiles, 0);
  assert.ok(r.reads > OUTAGE_SECONDS * 20);
  // Full jitter, base 1 s, cap 60 s: a handful of attempts per minute, never a storm.
  assert.ok(r.reconnectGapsMs.length >= 1 && r.reconnectGapsMs.length < OUTAGE_SECONDS);
  assert.ok(r.reconnectGapsMs.length < 2 || new Set(r.reconnectGapsMs.map((g) => Math.round(g / 100))).size > 1, 'gaps are jittered');
});
