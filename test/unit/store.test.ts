import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigStore, type RevisionEvent } from '../../src/store/config-store.ts';
import { parseEntryAnswer, type Entry } from '../../src/central/entry.ts';

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

test('issue 11 #1: an empty change set loads nothing; loaded is per namespace, ready when all are', () => {
  const store = new ConfigStore(['a', 'b'], { environment: 'development' });
  store.apply([]);
  store.replaceNamespaces(new Map());
  assert.equal(store.loaded, false, 'a failed cycle (nothing fetched) must not mark the store loaded');
  store.replaceNamespaces(new Map([['a', []]]));
  assert.equal(store.isLoaded('a'), true, 'an empty but successful answer loads the namespace');
  assert.equal(store.isLoaded('b'), false);
  assert.equal(store.loaded, false);
  store.replaceNamespaces(new Map([['b', [entry('k', 1, 1, 'i', 'b')]]]));
  assert.equal(store.loaded, true);
});

test('issue 11 #2: for one id a lower version is ignored, whatever path brought it', () => {
  const store = new ConfigStore(['ns'], { environment: 'development' });
  store.replaceNamespaces(new Map([['ns', []]])); // stream snapshot: loaded, empty
  store.apply([{ type: 'put', entry: entry('x', 'v2', 2, 'X') }]); // stream event
  store.replaceNamespaces(new Map([['ns', [entry('x', 'v1', 1, 'X')]]])); // lagging resync list
  assert.equal(store.view.namespaces.get('ns')!.get('x')!.version, 2);
  store.apply([{ type: 'put', entry: entry('x', 'v1', 1, 'X') }]);
  assert.equal(store.view.namespaces.get('ns')!.get('x')!.value, 'v2');
  // an id that was replaced (rollback: new id) does not come back at a lower version
  store.apply([{ type: 'put', entry: entry('x', 'v3', 3, 'Y') }]);
  store.replaceNamespaces(new Map([['ns', [entry('x', 'v1', 1, 'X')]]]));
  assert.equal(store.view.namespaces.get('ns')!.get('x')!.id, 'Y');
});

test('issue 11 #5: entries of another namespace or environment are dropped and reported, never stored elsewhere', () => {
  const store = new ConfigStore(['ns1', 'ns2'], { environment: 'production' });
  const refused: string[] = [];
  store.onRefused((r) => refused.push(`${r.kind} ${r.namespace}/${r.key}`));
  const prod = (key: string, namespace: string): Entry => ({
    ...entry(key, 1, 1, `id-${namespace}-${key}`, namespace),
    environment: 'production',
  });
  store.replaceNamespaces(new Map([['ns1', [prod('a', 'ns1')]]]));
  // An answer holding a foreign entry is not an answer to the question: refused whole, ns1 kept as it was.
  const result = store.replaceChecked(new Map([['ns1', [prod('b', 'ns1'), prod('intruder', 'ns2'), entry('dev', 1, 1, 'd', 'ns1')]]]));
  assert.deepEqual([...result.refusedAnswers.keys()], ['ns1']);
  assert.deepEqual([...store.view.namespaces.get('ns1')!.keys()], ['a']);
  assert.equal(store.view.namespaces.get('ns2')!.size, 0);
  assert.equal(store.isLoaded('ns2'), false, 'an answer for ns1 does not load ns2');
  assert.deepEqual(refused, ['foreign-answer ns1/undefined']);
  const revision = store.view.revision;
  store.replaceNamespaces(new Map([['ns1', [prod('a', 'ns1'), prod('intruder', 'ns2')]]]));
  assert.equal(store.view.revision, revision, 'the same answer again changes nothing (no flip every poll)');
  // A stream put of another environment is refused on its own.
  store.apply([{ type: 'put', entry: entry('dev', 1, 1, 'd', 'ns1') }]);
  assert.deepEqual([...store.view.namespaces.get('ns1')!.keys()], ['a']);
  assert.equal(refused.at(-1), 'foreign-environment ns1/dev');
});

const prodEntry = (key: string, value: unknown, version = 1, id = `id-${key}`, namespace = 'ns'): Entry => ({
  ...entry(key, value, version, id, namespace),
  environment: 'production',
});

test('H1b #1: an answer for another environment never empties a namespace nor loads one; a snapshot saying so neither', () => {
  const store = new ConfigStore(['ns', 'other'], { environment: 'production' });
  const refused: string[] = [];
  store.onRefused((r) => refused.push(`${r.kind} ${r.namespace}`));
  // cold: an all-development answer (upstream's default when env= is lost) does not load
  let result = store.replaceChecked(new Map([['ns', [entry('a', 1)]]]));
  assert.equal(store.isLoaded('ns'), false);
  assert.deepEqual([...result.refusedAnswers.keys()], ['ns']);
  store.replaceNamespaces(
    new Map([
      ['ns', [prodEntry('a', 1), prodEntry('b', 2)]],
      ['other', [prodEntry('o', 3, 1, 'o', 'other')]],
    ]),
  );
  const revision = store.view.revision;
  // warm: all foreign, and mixed (some fine, some foreign): both refused whole
  for (const answer of [[entry('a', 9, 5)], [prodEntry('a', 9, 5), entry('z', 1)]]) {
    result = store.replaceChecked(new Map([['ns', answer]]));
    assert.deepEqual([...result.refusedAnswers.keys()], ['ns']);
    assert.deepEqual(result.changes, []);
  }
  assert.equal(store.view.revision, revision);
  assert.deepEqual([...store.view.namespaces.get('ns')!.keys()], ['a', 'b']);
  // a stream snapshot that says it is for development, with no entries at all
  result = store.replaceChecked(
    new Map([
      ['ns', []],
      ['other', []],
    ]),
    [],
    { environment: 'development' },
  );
  assert.deepEqual([...result.refusedAnswers.keys()], ['ns', 'other']);
  assert.equal(store.view.namespaces.get('other')!.size, 1, 'nothing emptied');
  assert.equal(store.view.revision, revision);
  // the same environment under another spelling is the question
  result = store.replaceChecked(new Map([['other', []]]), [], { environment: 'prod' });
  assert.equal(result.refusedAnswers.size, 0);
  assert.ok(refused.every((r) => r.startsWith('foreign-answer')));
});

test('H1b #2: an id that left a key never comes back at its version: rollback (new id, max+1) and delete + re-create', () => {
  const store = new ConfigStore(['ns'], { environment: 'development' });
  store.replaceNamespaces(new Map([['ns', [entry('k', 'v3', 3, 'X')]]]));
  store.replaceNamespaces(new Map([['ns', [entry('k', 'rolled back', 4, 'R')]]])); // rollback: new id, version max+1
  store.replaceNamespaces(new Map([['ns', [entry('k', 'v3', 3, 'X')]]])); // lagging list: old id, its old version
  assert.equal(store.view.namespaces.get('ns')!.get('k')!.id, 'R', 'poll: not back to the old value');
  store.apply([{ type: 'put', entry: entry('k', 'v3', 3, 'X') }]);
  assert.equal(store.view.namespaces.get('ns')!.get('k')!.id, 'R', 'stream: neither');

  const other = new ConfigStore(['ns'], { environment: 'development' });
  other.replaceNamespaces(new Map([['ns', [entry('k', 'v3', 3, 'X')]]]));
  other.replaceNamespaces(new Map([['ns', []]])); // deleted
  other.replaceNamespaces(new Map([['ns', [entry('k', 'new', 1, 'Y')]]])); // re-created: new id, version 1
  other.replaceNamespaces(new Map([['ns', [entry('k', 'v3', 3, 'X')]]])); // lagging: X v3
  assert.equal(other.view.namespaces.get('ns')!.get('k')!.id, 'Y', 'a deleted id does not come back over its successor');
  other.apply([{ type: 'put', entry: entry('k', 'newer', 2, 'Y') }]);
  assert.equal(other.view.namespaces.get('ns')!.get('k')!.version, 2, 'the held id still moves forward');
});

test('H1b #4: a put for a namespace that has not loaded is not kept (no file, no HTTP data, no snapshot for it)', () => {
  const store = new ConfigStore(['a', 'b'], { environment: 'development' });
  store.replaceNamespaces(new Map([['a', []]]));
  assert.deepEqual(store.apply([{ type: 'put', entry: entry('k', 1, 1, 'k', 'b') }]), []);
  assert.equal(store.view.namespaces.get('b')!.size, 0);
  assert.equal(store.isLoaded('b'), false);
  const vault = new ConfigStore(['v'], { selfManaged: ['v'] });
  assert.equal(vault.apply([{ type: 'put', entry: entry('s', 1, 1, 's', 'v') }]).length, 1, 'a self-managed source still applies');
});

test('H1b #6: a snapshot goes through the same checks as an answer', () => {
  const store = new ConfigStore(['a', 'b', 'c'], { environment: 'production' });
  const refused: string[] = [];
  store.onRefused((r) => refused.push(`${r.kind} ${r.namespace}`));
  store.restore(
    new Map([
      ['a', [prodEntry('k', 1, 1, 'k', 'zz')]],
      ['b', [entry('k', 1, 1, 'k', 'b')]],
      ['c', [prodEntry('k', 1, 1, 'k', 'c')]],
    ]),
    7,
    1,
  );
  assert.equal(store.view.namespaces.get('a')!.size, 0);
  assert.equal(store.view.namespaces.get('b')!.size, 0);
  assert.equal(store.isLoaded('a') || store.isLoaded('b'), false, 'a refused namespace is not loaded from the snapshot');
  assert.equal(store.view.namespaces.get('c')!.size, 1);
  assert.equal(store.isLoaded('c'), true);
  assert.deepEqual(refused, ['foreign-answer a', 'foreign-answer b']);
});

test('H1b #7: duplicate keys in one answer: highest version, then id, whatever the order; counted', () => {
  const answers = [
    [entry('k', 'low', 1, 'A'), entry('k', 'high', 2, 'A'), entry('k', 'tie', 2, 'B')],
    [entry('k', 'tie', 2, 'B'), entry('k', 'high', 2, 'A'), entry('k', 'low', 1, 'A')],
    [entry('k', 'high', 2, 'A'), entry('k', 'tie', 2, 'B'), entry('k', 'low', 1, 'A')],
  ];
  const store = new ConfigStore(['ns']);
  let duplicates = 0;
  store.onRefused((r) => {
    if (r.kind === 'duplicate') duplicates++;
  });
  store.replaceNamespaces(new Map([['ns', answers[0]!]]));
  const revision = store.view.revision;
  for (const answer of answers) {
    store.replaceNamespaces(new Map([['ns', answer]]));
    assert.equal(store.view.namespaces.get('ns')!.get('k')!.value, 'tie');
  }
  assert.equal(store.view.revision, revision, 'no flap');
  assert.equal(duplicates, 2 * 4);
});

test('H1b minor: version 0, negative or missing, and a missing id are refused as malformed, per entry', () => {
  const base = { namespace: 'ns', key: 'k', value: 1, environment: 'development' };
  const { entries, refused } = parseEntryAnswer(
    [
      { ...base, id: 'a', version: 0 },
      { ...base, id: 'b', version: -1 },
      { ...base, id: 'c' },
      { ...base, version: 1 },
      { ...base, id: '', version: 1 },
      { ...base, id: 'ok', version: 1 },
    ],
    'test',
  );
  assert.deepEqual(
    entries.map((e) => e.id),
    ['ok'],
  );
  assert.deepEqual(
    refused.map((r) => r.kind),
    ['malformed', 'malformed', 'malformed', 'malformed', 'malformed'],
  );
  assert.match(refused[0]!.reason, /version \(an integer from 1 up\)/);
  assert.match(refused[3]!.reason, /no id/);
});
