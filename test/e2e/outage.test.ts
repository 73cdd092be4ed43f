// The central API goes away: the agent keeps its files, reconnects with growing,
// jittered gaps (counted by a TCP recorder holding the port), and resyncs when the
// real server is back on the same port. Short backoff settings keep it quick; the
// 60 s version with default backoff is in test/faults.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runOutage } from '../helpers/outage-run.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');

test('central outage: files kept, reads served, reconnects back off with jitter, resync after restart', async (t) => {
  const r = await runOutage(8, SEED, ['--backoff-base', '200ms', '--backoff-max', '2s', '--heartbeat-timeout', '2s']);
  t.diagnostic(
    `${r.reconnectGapsMs.length + 1} reconnect attempts in 8 s; gaps ms: ${r.reconnectGapsMs.join(', ')}; ${r.reads} reads, ${r.failedReads} failed`,
  );
  assert.equal(r.failedReads, 0);
  assert.equal(r.changedOrCorruptFiles, 0, 'files untouched during the outage');
  const attempts = r.reconnectGapsMs.length + 1;
  assert.ok(attempts >= 3 && attempts <= 30, `a bounded number of attempts, not a storm: ${attempts}`);
  assert.ok(
    r.reconnectGapsMs.every((g) => g <= 2000 + 300),
    'every gap within the 2 s cap',
  );
  const late = r.reconnectGapsMs.slice(Math.floor(r.reconnectGapsMs.length / 2));
  assert.ok(Math.max(...late) > 400, 'later gaps grow past the first ceilings');
  assert.ok(new Set(r.reconnectGapsMs.map((g) => Math.round(g / 50))).size > 1, 'gaps are jittered, not one beat');
});
