// Model-based test of the sync contract (SPEC §4, issue 11): fast-check commands
// interleave central writes, stream events (fresh and stale), list answers (fresh,
// from a lagging replica, failing, 429 with any Retry-After), restarts from the
// snapshot and crashes between the snapshot write and the file swap. After every
// step: ready ⇔ every namespace loaded; no id ever goes to a lower version; the
// revision never decreases; HTTP answers, files and snapshot agree with the store.
// The real store, poll cycle, engine bookkeeping, publisher, atomic writer and
// snapshot run against a fake client, in a tmpfs directory when there is one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseRetryAfterMs, type ListResult } from '../../src/central/client.ts';
import type { Entry } from '../../src/central/entry.ts';
import { CentralRateLimitedError, CentralUnreachableError } from '../../src/errors.ts';
import { retryDelayMs } from '../../src/sync/backoff.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import { createSyncMetrics } from '../../src/sync/sync-metrics.ts';
import { ConfigStore } from '../../src/store/config-store.ts';
import { createSyncRuntime, type SyncRuntime } from '../../src/sync/sync-runtime.ts';
import type { OutputPublisher } from '../../src/sync/publisher.ts';
import { AtomicWriter } from '../../src/files/atomic-writer.ts';
import { defaultFileSpecs, type FileSpec } from '../../src/files/file-spec.ts';
import { readSnapshot } from '../../src/snapshot/snapshot.ts';
import { buildAnswer } from '../../agent/local-api/answers.ts';
import { createLogger } from '../../src/logger.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { seedNote } from './fc-seed.ts';

const NAMESPACES = ['a', 'b'];
const KEYS = ['k1', 'k2'];
const BACKOFF = { baseMs: 100, capMs: 1000 };
const RUNS = Number(process.env.LLM_CONFIG_MODEL_RUNS ?? 1000);
const identity = { environment: 'development', centralUrl: 'http://central/' };
const silent = createLogger({ level: 'silent', name: 'model' });

type State = ReadonlyMap<string, ReadonlyMap<string, Entry>>;

/** The central API's truth over time: every write appends a state; lagging replicas answer older ones. */
class Central {
  readonly states: State[] = [new Map(NAMESPACES.map((ns) => [ns, new Map()]))];
  #ids = 0;
  get current(): State {
    return this.states.at(-1)!;
  }
  write(ns: string, key: string, how: 'update' | 'recreate' | 'delete', value: number): void {
    const data = new Map(this.current.get(ns)!);
    const old = data.get(key);
    if (how === 'delete') data.delete(key);
    else if (how === 'update' && old) data.set(key, { ...old, value, version: old.version + 1 });
    else data.set(key, { id: `id${++this.#ids}`, namespace: ns, key, value, environment: 'development', version: 1, metadata: {} });
    this.states.push(new Map([...this.current, [ns, data]]));
  }
  stateAgo(age: number): State {
    return this.states[Math.max(0, this.states.length - 1 - age)]!;
  }
}

type Answer = { kind: 'list'; age: number } | { kind: 'down' } | { kind: 'rate-limited'; retryAfter: string };

type Real = {
  readonly dir: string;
  readonly central: Central;
  answers: ReadonlyMap<string, Answer>;
  runtime: SyncRuntime & { publisher: OutputPublisher };
  store: ConfigStore;
  crashNextPublish: boolean;
  readonly highest: Map<string, number>;
  lastRevision: number;
  lastChecked: unknown;
  /** Namespaces that had a successful answer (the model of "loaded"). */
  readonly loaded: Set<string>;
};

const specs: readonly FileSpec[] = defaultFileSpecs(NAMESPACES);

function build(
  real: Pick<Real, 'dir' | 'central'> & Partial<Real>,
  store: ConfigStore,
  cursor?: Parameters<typeof createSyncRuntime>[0]['cursor'],
) {
  const runtime = createSyncRuntime({
    client: {
      listNamespace: async (ns: string): Promise<ListResult> => {
        const answer = (real as Real).answers.get(ns) ?? { kind: 'down' };
        if (answer.kind === 'down') throw new CentralUnreachableError('down');
        if (answer.kind === 'rate-limited') throw new CentralRateLimitedError(429, '', parseRetryAfterMs(answer.retryAfter));
        return { kind: 'entries', entries: [...real.central.stateAgo(answer.age).get(ns)!.values()], refused: [], etag: undefined };
      },
    } as never,
    store,
    namespaces: NAMESPACES,
    mode: 'poll',
    pollIntervalMs: 1000,
    resyncIntervalMs: 60_000,
    heartbeatTimeoutMs: 5000,
    healthyAfterMs: 10_000,
    backoff: BACKOFF,
    maxEventBytes: 1_000_000,
    logger: silent,
    metrics: createSyncMetrics(createRegistry({ processMetrics: false })),
    clock: new FakeClock(),
    cursor,
    output: {
      follow: true,
      writer: new AtomicWriter(join(real.dir, 'files')),
      specs,
      snapshot: { cacheDir: join(real.dir, 'cache'), identity },
      betweenSnapshotAndFiles: async () => {
        if (!(real as Real).crashNextPublish) return;
        (real as Real).crashNextPublish = false;
        throw new Error('crash between snapshot and file swap');
      },
    },
  });
  return runtime;
}

/** The agent's start: restore the snapshot, adopt files on disk, publish the snapshot's view. */
async function restart(real: Real): Promise<void> {
  await real.runtime.publisher.idle();
  real.runtime.publisher.stop(); // the old process is gone: no retry of its failed publish
  real.runtime.detach();
  const store = new ConfigStore(NAMESPACES, { environment: 'development' });
  const snapshot = await readSnapshot(join(real.dir, 'cache'), identity);
  if (snapshot) store.restore(snapshot.namespaces, snapshot.revision, snapshot.changedAt, snapshot.loaded, snapshot.retired);
  real.store = store;
  real.runtime = build(real, store, snapshot?.cursor);
  if (snapshot) await real.runtime.publisher.publish(store.view);
  for (const ns of NAMESPACES)
    if (!store.isLoaded(ns) && real.loaded.has(ns)) assert.fail(`${ns} was loaded before the restart, not after`);
}

async function checkInvariants(real: Real): Promise<void> {
  await real.runtime.publisher.idle();
  const { store } = real;
  const view = store.view;
  assert.equal(
    store.loaded,
    NAMESPACES.every((ns) => real.loaded.has(ns)),
    'ready ⇔ every namespace loaded',
  );
  for (const ns of NAMESPACES) assert.equal(store.isLoaded(ns), real.loaded.has(ns), `${ns} loaded`);
  assert.ok(view.revision >= real.lastRevision, `revision went back: ${real.lastRevision} → ${view.revision}`);
  const unchanged = view === real.lastChecked;
  real.lastRevision = view.revision;
  real.lastChecked = view;
  for (const data of view.namespaces.values()) {
    for (const e of data.values()) {
      const before = real.highest.get(e.id!) ?? 0;
      assert.ok(e.version >= before, `id ${e.id} went back from version ${before} to ${e.version}`);
      real.highest.set(e.id!, e.version);
    }
  }
  if (view.revision === 0 || unchanged) return; // nothing published yet, or already checked (files only move with the view)
  const snapshot = await readSnapshot(join(real.dir, 'cache'), identity);
  assert.equal(snapshot?.revision, view.revision, 'snapshot at the store revision');
  for (const ns of NAMESPACES) {
    if (!store.isLoaded(ns)) continue;
    const entries = [...view.namespaces.get(ns)!.values()].sort((x, y) => x.key.localeCompare(y.key));
    const answer = buildAnswer(view, 'namespace', ns, undefined);
    assert.deepEqual(JSON.parse(answer.body.toString()), entries, `HTTP answer for ${ns}`);
    assert.deepEqual(
      [...(snapshot?.namespaces.get(ns) ?? [])].sort((x, y) => x.key.localeCompare(y.key)),
      entries,
      `snapshot of ${ns}`,
    );
    const file = JSON.parse(await readFile(join(real.dir, 'files', `${ns}.json`), 'utf8'));
    assert.deepEqual(file, Object.fromEntries(entries.map((e) => [e.key, e.value])), `file of ${ns}`);
  }
}

type Command = fc.AsyncCommand<object, Real, true>;
const cmd = (name: string, run: (real: Real) => Promise<void>): Command => ({
  check: async () => true,
  run: async (_model, real) => {
    await run(real);
    await checkInvariants(real);
  },
  toString: () => name,
});

const ns = fc.constantFrom(...NAMESPACES);
const key = fc.constantFrom(...KEYS);
const answer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('list' as const), age: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'down' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('rate-limited' as const),
      retryAfter: fc.oneof(fc.constantFrom('0', '-1', '5.5', 'garbage', '', 'Thu, 01 Jan 1970 00:00:00 GMT', '99999999'), fc.string()),
    }),
  },
);

const commands = [
  fc
    .tuple(ns, key, fc.constantFrom('update', 'recreate', 'delete') as fc.Arbitrary<'update' | 'recreate' | 'delete'>, fc.integer())
    .map(([n, k, how, v]) => cmd(`central ${how} ${n}/${k}=${v}`, async (real) => real.central.write(n, k, how, v))),
  // A stream event: the current entry, or one from `age` states ago (a lagging replica's stream).
  fc.tuple(ns, key, fc.nat(3)).map(([n, k, age]) =>
    cmd(`stream put ${n}/${k} age ${age}`, async (real) => {
      const e = real.central.stateAgo(age).get(n)!.get(k);
      if (e) real.store.apply([{ type: 'put', entry: e }]);
      else if (age === 0) real.store.apply([{ type: 'delete', namespace: n, key: k }]);
    }),
  ),
  fc.tuple(answer, answer).map(([x, y]) =>
    cmd(`poll a:${JSON.stringify(x)} b:${JSON.stringify(y)}`, async (real) => {
      real.answers = new Map([
        ['a', x],
        ['b', y],
      ]);
      const outcome = await real.runtime.engine.syncOnce();
      for (const n of outcome.succeeded) real.loaded.add(n);
      for (const error of outcome.failed.values()) {
        for (const attempt of [1, 5, 40]) {
          const wait = retryDelayMs(BACKOFF, attempt, error);
          assert.ok(wait >= BACKOFF.baseMs && wait <= 3_600_000, `wait ${wait}ms outside [base, 1 h]`);
        }
      }
    }),
  ),
  fc.constant(cmd('restart', restart)),
  fc.constant(
    cmd('crash between snapshot and files, then restart', async (real) => {
      real.crashNextPublish = true;
      real.central.write('a', 'k1', 'update', 7); // something new to publish
      real.central.write('a', 'k1', 'recreate', 8);
      real.answers = new Map(NAMESPACES.map((n) => [n, { kind: 'list', age: 0 }]));
      const outcome = await real.runtime.engine.syncOnce();
      for (const n of outcome.succeeded) real.loaded.add(n);
      await real.runtime.publisher.idle();
      real.crashNextPublish = false;
      await restart(real);
    }),
  ),
];

const TMP = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

test(`sync model: ${RUNS} random sequences keep the sync contract after every step`, { timeout: 600_000 }, async (t) => {
  t.diagnostic(seedNote);
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { size: 'max', maxCommands: 10 }), async (cmds) => {
      const dir = await mkdtemp(join(TMP, 'llmc-model-'));
      await mkdir(join(dir, 'cache'));
      try {
        const central = new Central();
        const real = {
          dir,
          central,
          answers: new Map(),
          crashNextPublish: false,
          highest: new Map(),
          lastRevision: 0,
          loaded: new Set(),
        } as unknown as Real;
        real.store = new ConfigStore(NAMESPACES, { environment: 'development' });
        real.runtime = build(real, real.store);
        await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
        await real.runtime.publisher.idle();
        real.runtime.publisher.stop();
        real.runtime.detach();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: RUNS },
  );
});
