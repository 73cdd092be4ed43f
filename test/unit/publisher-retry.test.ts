// A failed publish is retried with the agent's backoff until it succeeds or a newer
// revision supersedes it (issue 12, review item 4: after ENOSPC was freed, files stayed
// at the old revision until the next change). The writer is injected and fails on cue.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigStore } from '../../src/store/config-store.ts';
import { OutputPublisher } from '../../src/sync/publisher.ts';
import { AtomicWriter, type FilePayload, type WriteResult } from '../../src/files/atomic-writer.ts';
import { defaultFileSpecs } from '../../src/files/file-spec.ts';
import { OutputWriteError } from '../../src/errors.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import { createSyncMetrics } from '../../src/sync/sync-metrics.ts';
import { waitFor } from '../helpers/cli-process.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { entry } from '../helpers/hostile-central.ts';

/** Fails while `failing` is above 0 (one failure per call), records the revision of each call. */
class FlakyWriter extends AtomicWriter {
  failing: number;
  readonly calls: string[] = [];
  constructor(failing: number) {
    super('/nonexistent-flaky-writer');
    this.failing = failing;
  }
  override async write(payload: FilePayload): Promise<WriteResult> {
    this.calls.push(String(payload.get('a.json')?.content).trim());
    if (this.failing-- > 0) throw new OutputWriteError('writing /out failed (previous files kept): ENOSPC: no space left on device');
    return 'written';
  }
}

function setUp(failing: number, backoff: { baseMs: number; capMs: number }) {
  const store = new ConfigStore(['a'], { environment: 'development' });
  const { logger, lines } = testLogger();
  const writer = new FlakyWriter(failing);
  const publisher = new OutputPublisher({
    writer,
    specs: defaultFileSpecs(['a']),
    snapshot: undefined,
    cursor: () => ({ etags: {}, lastEventId: undefined, lastSuccessAt: undefined }),
    logger,
    metrics: createSyncMetrics(createRegistry({ processMetrics: false })),
    retry: { ...backoff, random: () => 0.5 },
  });
  let version = 0;
  const put = (value: string): void => {
    version += 1;
    store.replaceNamespaces(new Map([['a', [entry('a', 'k', value, { version }) as never]]]));
  };
  return { store, writer, publisher, lines, put };
}

test('a publish that fails 3 times is retried with backoff until it is on disk, with no new change', async (t) => {
  const s = setUp(3, { baseMs: 1, capMs: 8 });
  t.after(() => s.publisher.stop());
  s.put('one');
  await s.publisher.publish(s.store.view);
  assert.equal(s.publisher.state.publishedRevision, -1);
  assert.match(s.publisher.state.lastError!, /ENOSPC/);
  await waitFor(() => (s.publisher.state.publishedRevision === s.store.view.revision ? true : undefined));
  assert.equal(s.writer.calls.length, 4, 'three failures, then the retry that succeeded');
  assert.equal(new Set(s.writer.calls).size, 1, 'every retry wrote the same revision');
  assert.equal(s.publisher.state.lastError, undefined);
  const failures = s.lines.filter((l) => String(l.msg).startsWith('publishing files failed'));
  assert.equal(failures.length, 3);
  for (const line of failures) assert.equal(typeof line.retryInMs, 'number', 'each failure says when it is retried');
  assert.ok(s.lines.some((l) => l.msg === 'files updated'));
});

test('a newer revision supersedes the one waiting for its retry; the retry delay follows the backoff policy', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const s = setUp(2, { baseMs: 1000, capMs: 60_000 });
  t.after(() => s.publisher.stop());
  s.put('one');
  await s.publisher.publish(s.store.view); // fails, retry in 1000 + 0.5 · (2000 − 1000) ms
  const first = s.lines.find((l) => String(l.msg).startsWith('publishing files failed'));
  assert.equal(first?.retryInMs, 1500);
  s.put('two');
  await s.publisher.publish(s.store.view); // fails too: the retry now waits for revision 2
  t.mock.timers.tick(60_000);
  await s.publisher.idle();
  assert.equal(s.writer.calls.length, 3);
  assert.deepEqual(
    s.writer.calls.map((c) => c.includes('two')),
    [false, true, true],
    'revision 1 was never retried once revision 2 was queued',
  );
  assert.equal(s.publisher.state.publishedRevision, s.store.view.revision);
  t.mock.timers.tick(3_600_000);
  await s.publisher.idle();
  assert.equal(s.writer.calls.length, 3, 'nothing more after success');
});
