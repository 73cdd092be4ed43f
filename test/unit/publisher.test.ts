// Publisher and readiness in-process: snapshot first, files second; a snapshot that
// cannot be written never outlives newer files; a namespace never loaded gets no file
// and keeps readiness red.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigStore } from '../../src/store/config-store.ts';
import { OutputPublisher } from '../../src/sync/publisher.ts';
import { AtomicWriter } from '../../src/files/atomic-writer.ts';
import { defaultFileSpecs } from '../../src/files/file-spec.ts';
import { readSnapshot, snapshotPath, writeSnapshot } from '../../src/snapshot/snapshot.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import { createSyncMetrics } from '../../src/sync/sync-metrics.ts';
import { readiness } from '../../agent/agent-status.ts';
import { tempDir } from '../helpers/cli-process.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { entry } from '../helpers/hostile-central.ts';

const identity = { environment: 'development', centralUrl: 'http://central/' };

async function setUp(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'cache'));
  const store = new ConfigStore(['a', 'b'], { environment: 'development' });
  const { logger, lines } = testLogger();
  const order: string[] = [];
  const publisher = new OutputPublisher({
    writer: new AtomicWriter(join(dir, 'files')),
    specs: defaultFileSpecs(['a', 'b']),
    snapshot: { cacheDir: join(dir, 'cache'), identity },
    cursor: () => ({ etags: {}, lastEventId: undefined, lastSuccessAt: undefined }),
    logger,
    metrics: createSyncMetrics(createRegistry({ processMetrics: false })),
    betweenSnapshotAndFiles: async (view) => void order.push(`snapshot ${view.revision}`),
    onFilesWritten: (view) => void order.push(`files ${view.revision}`),
  });
  return { dir, store, publisher, lines, order };
}

test('issue 11 #2: the snapshot is written before the files, so it is never older than them', async (t) => {
  const s = await setUp(t);
  s.store.replaceNamespaces(new Map([['a', [entry('a', 'k', 1) as never]]]));
  await s.publisher.publish(s.store.view);
  assert.deepEqual(s.order, ['snapshot 1', 'files 1']);
});

test('issue 11 #1: a namespace never loaded gets no file; readiness names it', async (t) => {
  const s = await setUp(t);
  s.store.replaceNamespaces(new Map([['a', []]]));
  await s.publisher.publish(s.store.view);
  assert.equal(await readFile(join(s.dir, 'files', 'a.json'), 'utf8'), '{}\n');
  await assert.rejects(readFile(join(s.dir, 'files', 'b.json')), { code: 'ENOENT' });
  assert.deepEqual(readiness(s.store, true, 0, Number.POSITIVE_INFINITY), {
    ok: false,
    reason: 'not loaded yet (no snapshot, no successful answer): b',
  });
  const snapshot = await readSnapshot(join(s.dir, 'cache'), identity);
  assert.deepEqual([...snapshot!.namespaces.keys()], ['a'], 'an unloaded namespace is not saved as loaded-and-empty');
  s.store.replaceNamespaces(new Map([['b', []]]));
  assert.equal(readiness(s.store, true, 0, Number.POSITIVE_INFINITY).ok, true);
});

test('issue 11 #2: when the snapshot cannot be written, the old one is removed before the files move on', async (t) => {
  const s = await setUp(t);
  s.store.replaceNamespaces(
    new Map([
      ['a', [entry('a', 'k', 1) as never]],
      ['b', []],
    ]),
  );
  await s.publisher.publish(s.store.view);
  assert.ok(await readSnapshot(join(s.dir, 'cache'), identity));
  // The cache directory goes away (volume lost): the snapshot write fails.
  await rm(join(s.dir, 'cache'), { recursive: true });
  await writeFile(join(s.dir, 'cache'), 'not a directory');
  s.store.apply([{ type: 'put', entry: entry('a', 'k', 2, { version: 2 }) as never }]);
  await s.publisher.publish(s.store.view);
  assert.equal(JSON.parse(await readFile(join(s.dir, 'files', 'a.json'), 'utf8')).k, 2, 'files moved on');
  await assert.rejects(readFile(snapshotPath(join(s.dir, 'cache'))));
  assert.ok(s.lines.some((l) => l.msg === 'snapshot not saved; removing the old one'));
});

test('H1b #3: a snapshot that can be neither written nor removed (read-only volume) holds the files at its revision', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'cache'));
  const store = new ConfigStore(['a'], { environment: 'development' });
  const { logger, lines } = testLogger();
  let readOnly = false;
  const erofs = (): never => {
    throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
  };
  const publisher = new OutputPublisher({
    writer: new AtomicWriter(join(dir, 'files')),
    specs: defaultFileSpecs(['a']),
    snapshot: {
      cacheDir: join(dir, 'cache'),
      identity,
      io: {
        write: async (...args) => (readOnly ? erofs() : writeSnapshot(...args)),
        remove: async (path) => (readOnly ? erofs() : rm(path, { force: true })),
      },
    },
    cursor: () => ({ etags: {}, lastEventId: undefined, lastSuccessAt: undefined }),
    logger,
    metrics: createSyncMetrics(createRegistry({ processMetrics: false })),
  });
  const fileK = async () => JSON.parse(await readFile(join(dir, 'files', 'a.json'), 'utf8')).k;
  store.replaceNamespaces(new Map([['a', [entry('a', 'k', 1) as never]]]));
  await publisher.publish(store.view);
  assert.equal(await fileK(), 1);
  readOnly = true;
  store.apply([{ type: 'put', entry: entry('a', 'k', 2, { version: 2 }) as never }]);
  await publisher.publish(store.view);
  assert.equal(await fileK(), 1, 'files did not move past the snapshot');
  assert.equal((await readSnapshot(join(dir, 'cache'), identity))!.namespaces.get('a')![0]!.version, 1);
  assert.equal(lines.filter((l) => /could not be removed/.test(String(l.msg))).length, 1, 'the failed removal is logged');
  assert.match(publisher.state.lastError ?? '', /cannot save nor remove/);
  // the volume is writable again: the next revision moves snapshot and files together
  readOnly = false;
  store.apply([{ type: 'put', entry: entry('a', 'k', 3, { version: 3 }) as never }]);
  await publisher.publish(store.view);
  assert.equal(await fileK(), 3);
  assert.equal((await readSnapshot(join(dir, 'cache'), identity))!.namespaces.get('a')![0]!.version, 3);
});
