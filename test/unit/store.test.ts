import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigStore, type RevisionEvent } from '../../src/sync/store.ts';
import type { Entry } from '../../src/central/entry.ts';

const entry = (key: string, value: unknown, version = 1, id = `id-${key}`, namespace = 'ns'): Entry => ({
  id,
  namespace,
  key,
  value,
  environment: 'development',
  version,
  metadata: {},
});

test('a list answer becomes one revision; identical data changes nothing', () => {
  const store = new ConfigStore(['ns', 'other']);
  const events: RevisionEvent[] = [];
  store.onRevision((e) => events.push(e));
  store.replaceNamespaces(new Map([['ns', [entry('a', 1), entry('b', 2)]]]));
  assert.equal(store.view.revision, 1);
  assert.equal(events.length, 1);
  assert.deepEqual(
    events[0]!.changes.map((c) => c.type),
    ['put', 'put'],
  );
  assert.deepEqual(store.replaceNamespaces(new Map([['ns', [entry('b', 2), entry('a', 1)]]])), []);
  assert.equal(store.view.revision, 1);
});

test('change detection uses id + version: a re-created key at version 1 is a change', () => {
  const store = new ConfigStore(['ns']);
  store.replaceNamespaces(new Map([['ns', [entry('a', 'old', 1, 'first')]]]));
  const changes = store.replaceNamespaces(new Map([['ns', [entry('a', 'new', 1, 'second')]]]));
  assert.equal(changes.length, 1);
  assert.equal(store.view.namespaces.get('ns')!.get('a')!.value, 'new');
});

test('deletes, unknown namespaces ignored, copy-on-write views', () => {
  const store = new ConfigStore(['ns']);
  store.replaceNamespaces(new Map([['ns', [entry('a', 1), entry('b', 2)]]]));
  const before = store.view;
  store.apply([
    { type: 'delete', namespace: 'ns', key: 'a' },
    { type: 'put', entry: entry('z', 9, 1, 'z', 'elsewhere') },
  ]);
  assert.deepEqual([...store.view.namespaces.get('ns')!.keys()], ['b']);
  assert.deepEqual([...before.namespaces.get('ns')!.keys()], ['a', 'b'], 'an old view is never mutated');
  assert.equal(store.view.namespaces.has('elsewhere'), false);
  assert.deepEqual(store.apply([{ type: 'delete', namespace: 'ns', key: 'missing' }]), []);
});

test('restore loads a snapshot without emitting a change', () => {
  const store = new ConfigStore(['ns']);
  let emitted = 0;
  store.onRevision(() => emitted++);
  assert.equal(store.loaded, false);
  store.restore(
    new Map([
      ['ns', [entry('a', 1)]],
      ['foreign', [entry('x', 1)]],
    ]),
    41,
    1000,
  );
  assert.equal(store.loaded, true);
  assert.equal(store.view.revision, 41);
  assert.equal(store.view.namespaces.has('foreign'), false);
  assert.equal(emitted, 0);
});
