import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readdir } from 'node:fs/promises';
import { readSnapshot, writeSnapshot, snapshotPath } from '../../src/snapshot.ts';
import { ConfigStore } from '../../src/sync/store.ts';
import { SnapshotError } from '../../src/errors.ts';
import { tempDir } from '../helpers/cli-process.ts';

const identity = { environment: 'production', centralUrl: 'http://central/' };
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
