import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readdir } from 'node:fs/promises';
import { readSnapshot, writeSnapshot, snapshotPath } from '../../src/snapshot/snapshot.ts';
import { ConfigStore, RETIRED_IDS_KEPT } from '../../src/store/config-store.ts';
import { SnapshotError } from '../../src/errors.ts';
import { tempDir } from '../helpers/cli-process.ts';

const identity = { environment: 'production', centralUrl: 'http://central/' };
const noCursor = { etags: {}, lastEventId: undefined, lastSuccessAt: undefined };
const entry = { id: 'x', namespace: 'ns', key: 'k', value: { deep: [1, 'two'] }, environment: 'production', version: 3, metadata: {} };

test('round trip: entries, revision and the sync cursor', async (t) => {
  const dir = await tempDir(t);
  const store = new ConfigStore(['ns']);
  store.replaceNamespaces(new Map([['ns', [entry]]]));
  await writeSnapshot(dir, identity, store.view, { etags: { ns: '"abc"' }, lastEventId: '42', lastSuccessAt: 123 });
  const snapshot = await readSnapshot(dir, identity);
  assert.deepEqual(snapshot?.namespaces.get('ns'), [entry]);
  assert.equal(snapshot?.revision, 1);
  assert.deepEqual(snapshot?.cursor, { etags: { ns: '"abc"' }, lastEventId: '42', lastSuccessAt: 123 });
  assert.deepEqual(await readdir(dir), ['snapshot.json'], 'no temporary files left behind');
});

test('missing is undefined; corrupt, foreign or other-version snapshots are coded errors', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await readSnapshot(dir, identity), undefined);
  const store = new ConfigStore(['ns']);
  await writeSnapshot(dir, identity, store.view, { etags: {}, lastEventId: undefined, lastSuccessAt: undefined });
  await assert.rejects(
    readSnapshot(dir, { ...identity, environment: 'staging' }),
    (e: unknown) => e instanceof SnapshotError && /taken for production/.test(e.message),
  );
  for (const content of [
    '{"format":"llm-config-snapshot"',
    '{"format":"other"}',
    '{"format":"llm-config-snapshot","version":99}',
    JSON.stringify({ format: 'llm-config-snapshot', version: 1, ...identity, namespaces: { ns: [{ nope: 1 }] } }),
  ]) {
    await writeFile(snapshotPath(dir), content);
    await assert.rejects(readSnapshot(dir, identity), (e: unknown) => e instanceof SnapshotError && e.code === 'LLMC_ERR_SNAPSHOT');
  }
});

test('H1c #1: ids that left a key are saved and restored, so a lagging answer after a restart cannot bring one back', async (t) => {
  const dir = await tempDir(t);
  const at = (id: string, version: number) => ({ ...entry, id, version, value: `${id}@${version}` });
  const before = new ConfigStore(['ns'], { environment: 'production' });
  before.replaceNamespaces(new Map([['ns', [at('X', 3)]]]));
  before.replaceNamespaces(new Map([['ns', [at('R', 4)]]])); // rollback: X replaced by R
  await writeSnapshot(dir, identity, { ...before.view, retired: before.retiredIds() }, noCursor);
  const snapshot = (await readSnapshot(dir, identity))!;
  assert.deepEqual(snapshot.retired, [{ namespace: 'ns', key: 'k', id: 'X', version: 3 }]);

  const after = new ConfigStore(['ns'], { environment: 'production' });
  after.restore(snapshot.namespaces, snapshot.revision, snapshot.changedAt, snapshot.loaded, snapshot.retired);
  after.replaceNamespaces(new Map([['ns', [at('X', 3)]]])); // a lagging replica
  after.apply([{ type: 'put', entry: at('X', 2) }]); // a lagging stream
  assert.equal(after.view.namespaces.get('ns')!.get('k')!.id, 'R', 'the replaced id stays out after the restart');
  after.replaceNamespaces(new Map([['ns', [at('X', 5)]]]));
  assert.equal(after.view.namespaces.get('ns')!.get('k')!.id, 'X', 'only at a higher version than it left with');
});

test('H1c #1: an older snapshot (no retired ids) is still read; malformed retired ids make it unusable; saved ids are bounded', async (t) => {
  const dir = await tempDir(t);
  const base = { format: 'llm-config-snapshot', version: 1, ...identity, revision: 2, cursor: noCursor, namespaces: { ns: [entry] } };
  await writeFile(snapshotPath(dir), JSON.stringify(base));
  const old = (await readSnapshot(dir, identity))!;
  assert.deepEqual(old.retired, []);
  assert.deepEqual(old.namespaces.get('ns'), [entry]);
  for (const retired of [{}, [['ns', 'k', 'X']], [['ns', 'k', 7, 1]], [['ns', 'k', 'X', -1]], [['ns', 'k', 'X', 1.5]], ['ns']]) {
    await writeFile(snapshotPath(dir), JSON.stringify({ ...base, retired }));
    await assert.rejects(
      readSnapshot(dir, identity),
      (e: unknown) => e instanceof SnapshotError && /retired/.test(String((e.cause as Error)?.message)),
      JSON.stringify(retired),
    );
  }
  const many = Array.from({ length: RETIRED_IDS_KEPT + 5 }, (_, i) => ['ns', 'k', `id${i}`, 1]);
  await writeFile(snapshotPath(dir), JSON.stringify({ ...base, retired: many }));
  const bounded = (await readSnapshot(dir, identity))!.retired;
  assert.equal(bounded.length, RETIRED_IDS_KEPT);
  assert.equal(bounded[0]!.id, 'id5', 'the oldest are forgotten first');
  const store = new ConfigStore(['ns']);
  store.restore(new Map(), 0, 0, [], [...bounded, { namespace: 'elsewhere', key: 'k', id: 'Z', version: 1 }]);
  assert.equal(store.retiredIds().length, RETIRED_IDS_KEPT, 'ids of a namespace not served here are not kept');
});

test('H1c #1: retired ids of sealed (secret) namespaces are not written in the clear', async (t) => {
  const dir = await tempDir(t);
  const retired = [
    { namespace: 'ns', key: 'k', id: 'X', version: 1 },
    { namespace: 'secret', key: 'password', id: 'S', version: 2 },
  ];
  const store = new ConfigStore(['ns', 'secret']);
  await writeSnapshot(dir, identity, { ...store.view, retired }, noCursor, { namespaces: ['secret'], key: undefined });
  assert.deepEqual((await readSnapshot(dir, identity))!.retired, [retired[0]]);
});
