// The sync engine in-process: a fake client (or a hostile HTTP double with the real
// client) and a fake clock, so pacing over many minutes runs without waiting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CentralClient, type ListResult } from '../../src/central/client.ts';
import type { Entry } from '../../src/central/entry.ts';
import { CentralRateLimitedError } from '../../src/errors.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import { createSyncMetrics } from '../../src/sync/sync-metrics.ts';
import { ConfigStore } from '../../src/store/config-store.ts';
import { PACE_HOLD_MS } from '../../src/sync/pacing.ts';
import { createSyncRuntime, type SyncRuntimeOptions } from '../../src/sync/sync-runtime.ts';
import { FakeClock, settle } from '../helpers/fake-clock.ts';
import { HostileCentral, deepJson, entry, json } from '../helpers/hostile-central.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { defer } from '../helpers/cleanup.ts';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AtomicWriter } from '../../src/files/atomic-writer.ts';
import { defaultFileSpecs } from '../../src/files/file-spec.ts';
import { readSnapshot } from '../../src/snapshot/snapshot.ts';
import { tempDir } from '../helpers/cli-process.ts';

type FakeClient = {
  listNamespace(ns: string, etag?: string, signal?: AbortSignal, env?: string): Promise<ListResult>;
  openWatch(ns: readonly string[], lastEventId: string | undefined, signal: AbortSignal): Promise<PassThrough>;
};

function runtime(client: FakeClient | CentralClient, overrides: Partial<SyncRuntimeOptions> = {}) {
  const { logger, lines } = testLogger();
  const metrics = createSyncMetrics(createRegistry({ processMetrics: false }));
  const namespaces = overrides.namespaces ?? ['ns'];
  const store = overrides.store ?? new ConfigStore(namespaces, { environment: 'development' });
  const clock = new FakeClock();
  const r = createSyncRuntime({
    client: client as CentralClient,
    store,
    namespaces,
    mode: 'poll',
    pollIntervalMs: 1000,
    resyncIntervalMs: 600_000,
    heartbeatTimeoutMs: 5000,
    healthyAfterMs: 10_000,
    backoff: { baseMs: 100, capMs: 1000, random: () => 0.5 },
    maxEventBytes: 1_000_000,
    logger,
    metrics,
    clock,
    ...overrides,
  });
  return { ...r, store, clock, lines, metrics };
}

const gauge = async (g: { get(): Promise<{ values: Array<{ value: number }> }> }) => (await g.get()).values[0]?.value;

test('issue 11 #10: a 429 stretches the poll interval (×2), kept for a while, then relaxed slowly; status and metric show it', async () => {
  let rateLimited = 2;
  const requests: number[] = [];
  const r = runtime({
    listNamespace: async () => {
      requests.push(r.clock.now());
      if (rateLimited-- > 0) throw new CentralRateLimitedError(429, 'Rate limit exceeded', 0); // Retry-After: 0
      return { kind: 'entries' as const, entries: [], refused: [], etag: undefined };
    },
    openWatch: async () => new PassThrough(),
  });
  r.engine.start();
  await r.clock.next(); // initial delay 0
  await settle();
  assert.equal(r.engine.status().pacing.effectiveIntervalMs, 2000, 'first 429: interval doubled');
  await r.clock.next();
  assert.equal(r.engine.status().pacing.effectiveIntervalMs, 4000, 'second 429: doubled again');
  assert.equal(await gauge(r.metrics.effectiveInterval), 4);
  for (let i = 0; i < 5; i++) await r.clock.next();
  assert.equal(r.engine.status().pacing.effectiveIntervalMs, 4000, 'kept during the hold after the last 429');
  const gaps = requests.slice(1).map((t, i) => t - requests[i]!);
  assert.ok(
    gaps.every((g) => g >= 0.9 * 2000),
    `no request sooner than the stretched interval allows: ${gaps.join(', ')}`,
  );
  await r.clock.advance(r.engine.status().pacing.lastRateLimitedAt! + PACE_HOLD_MS - r.clock.now());
  await r.clock.next();
  const relaxed = r.engine.status().pacing.effectiveIntervalMs;
  assert.ok(relaxed < 4000 && relaxed > 3000, `slow decrease after the hold: ${relaxed}`);
  await r.engine.stop();
});

test('issue 11 #3: a 429 with Retry-After 0 never becomes a tight loop', async () => {
  const r = runtime({
    listNamespace: async () => {
      throw new CentralRateLimitedError(429, '', 0);
    },
    openWatch: async () => new PassThrough(),
  });
  r.engine.start();
  for (let i = 0; i < 20; i++) await r.clock.next();
  const waits = r.clock.waits.slice(1);
  assert.ok(waits.length >= 10);
  assert.ok(
    waits.every((w) => w >= 100 && w <= 3_600_000),
    `every wait within [base, 1 h]: ${waits.join(', ')}`,
  );
  await r.engine.stop();
});

const stream = (text: string): PassThrough => {
  const body = new PassThrough();
  body.end(text);
  return body;
};
const putEvent = (id: string, e: Entry) => `event: put\nid: ${id}\ndata: ${JSON.stringify(e)}\n\n`;
const snapshotEvent = (id: string, namespaces: Record<string, Entry[]>, environment?: string) =>
  `event: snapshot\nid: ${id}\ndata: ${JSON.stringify({ namespaces, ...(environment && { environment }) })}\n\n`;

test('issue 11 #7: an event id that cannot be a header is not kept (nor restored from a snapshot); the next reconnect asks afresh', async () => {
  const resumedFrom: Array<string | undefined> = [];
  const e = entry('ns', 'k', 'v') as Entry;
  const bodies = [
    snapshotEvent('4', { ns: [] }) + putEvent('5', e) + putEvent('snow\u2603', { ...e, version: 2 }),
    putEvent('6', { ...e, version: 3 }),
    '',
  ];
  const r = runtime(
    {
      listNamespace: async () => ({ kind: 'entries' as const, entries: [], refused: [], etag: undefined }),
      openWatch: async (_ns: readonly string[], lastEventId: string | undefined) => {
        resumedFrom.push(lastEventId);
        return stream(bodies.shift() ?? '');
      },
    },
    { mode: 'stream', resyncIntervalMs: 1e9, cursor: { etags: {}, lastEventId: 'x\r\nInjected: 1', lastSuccessAt: undefined } },
  );
  r.engine.start();
  await r.clock.runUntil(() => resumedFrom.length >= 3);
  assert.deepEqual(resumedFrom.slice(0, 3), [undefined, undefined, '6']);
  assert.equal(r.store.view.namespaces.get('ns')!.get('k')!.version, 3);
  assert.equal(r.lines.filter((l) => /event id not usable/.test(String(l.msg))).length, 1, 'logged once');
  await r.engine.stop();
});

async function hostile(t: { after: (fn: () => Promise<void>) => void }, lists: Record<string, () => string>) {
  const central = new HostileCentral();
  central.behaviour = (_req, res, request) => json(res, 200, lists[request.namespace!]?.() ?? '[]');
  await central.start();
  defer(t, () => central.stop());
  const client = new CentralClient({
    baseUrl: new URL(central.url),
    environment: 'development',
    headers: [],
    tls: { rejectUnauthorized: true },
    requestTimeoutMs: 5000,
    maxBodyBytes: 10_000_000,
    userAgent: 'test',
  });
  defer(t, () => client.close());
  return client;
}

test('issue 11 #5 + H1b #1: an answer holding foreign entries is refused whole: held data kept, not a success, counted, logged once', async (t) => {
  let answer = JSON.stringify([entry('ns1', 'a', 1)]);
  const client = await hostile(t, { ns1: () => answer, ns2: () => '[]' });
  const r = runtime(client, { namespaces: ['ns1', 'ns2'] });
  await r.engine.syncOnce();
  assert.equal(r.store.loaded, true);
  const revision = r.store.view.revision;
  const cases = [
    [entry('ns1', 'a', 1, { environment: 'production' })], // all of another environment (env= lost upstream)
    [entry('ns1', 'a', 1), entry('ns2', 'intruder', 'x')], // mixed: fine + another namespace
    [entry('ns1', 'a', 1), entry('ns1', 'dev-only', 2, { environment: 'production' })], // mixed: fine + another environment
  ];
  for (const c of cases) {
    answer = JSON.stringify(c);
    const outcome = await r.engine.syncOnce();
    assert.deepEqual([...outcome.failed.keys()], ['ns1'], 'not a successful load');
    assert.deepEqual(outcome.succeeded, ['ns2']);
  }
  assert.deepEqual([...r.store.view.namespaces.get('ns1')!.keys()], ['a'], 'last-known-good kept');
  assert.equal(r.store.view.namespaces.get('ns2')!.size, 0);
  assert.equal(r.store.view.revision, revision, 'no revision, no flip per poll');
  assert.match(r.engine.status().namespaceErrors.ns1 ?? '', /holds an entry of/);
  const counts = (await r.metrics.refusedEntries.get()).values.map((v) => [v.labels.kind, v.value]);
  assert.deepEqual(counts, [['foreign-answer', 3]]);
  assert.equal(r.lines.filter((l) => l.msg === 'entry refused').length, 1, 'logged once');
  // cold: an agent whose first answer is foreign does not become ready
  const cold = runtime(client, { namespaces: ['ns1'] });
  await cold.engine.syncOnce();
  assert.equal(cold.store.loaded, false);
  assert.equal(cold.engine.status().lastSuccessAt, undefined);
});

test('H1b #1: a stream snapshot for another environment is refused whole: nothing emptied, id not kept, not ready', async () => {
  const prod = (key: string, version = 1) => ({ ...entry('ns', key, key, { version }), environment: 'production' }) as Entry;
  const resumedFrom: Array<string | undefined> = [];
  const bodies = [
    snapshotEvent('1', { ns: [prod('a')] }, 'production'),
    snapshotEvent('2', { ns: [entry('ns', 'a', 'dev') as Entry] }) + snapshotEvent('3', { ns: [] }, 'development'),
    '',
  ];
  const store = new ConfigStore(['ns'], { environment: 'production' });
  const r = runtime(
    {
      listNamespace: async () => ({ kind: 'entries' as const, entries: [prod('a')], refused: [], etag: undefined }),
      openWatch: async (_ns: readonly string[], lastEventId: string | undefined) => {
        resumedFrom.push(lastEventId);
        return stream(bodies.shift() ?? '');
      },
    },
    { mode: 'stream', resyncIntervalMs: 1e9, store },
  );
  r.engine.start();
  await r.clock.runUntil(() => resumedFrom.length >= 3);
  assert.deepEqual(resumedFrom.slice(0, 3), [undefined, '1', '1'], 'a refused snapshot is no place to resume from');
  assert.deepEqual([...store.view.namespaces.get('ns')!.keys()], ['a']);
  assert.equal(store.view.namespaces.get('ns')!.get('a')!.environment, 'production');
  assert.equal(store.view.revision, 1);
  await r.engine.stop();
  const cold = new ConfigStore(['ns'], { environment: 'production' });
  cold.replaceChecked(new Map([['ns', []]]), [], { environment: 'development' });
  assert.equal(cold.loaded, false, 'an empty snapshot for development does not make a production agent ready');
});

test('issue 11 #6: an entry nested 6,000 deep is refused with a reason; its key keeps the good value, the rest goes on', async (t) => {
  let deep = false;
  let version = 1;
  const client = await hostile(t, {
    ns1: () => {
      const model = deep
        ? `{"id":"m","namespace":"ns1","key":"model","environment":"development","version":2,"value":${deepJson(6000)}}`
        : JSON.stringify(entry('ns1', 'model', 'good', { id: 'm' }));
      return `[${model},${JSON.stringify(entry('ns1', 'other', version, { version }))}]`;
    },
    ns2: () => JSON.stringify([entry('ns2', 'k', version, { version })]),
  });
  const r = runtime(client, { namespaces: ['ns1', 'ns2'] });
  await r.engine.syncOnce();
  deep = true;
  version = 2;
  const outcome = await r.engine.syncOnce();
  assert.equal(outcome.failed.size, 0, 'no namespace failed');
  assert.equal(r.store.view.namespaces.get('ns1')!.get('model')!.value, 'good', 'the good value is kept');
  assert.equal(r.store.view.namespaces.get('ns1')!.get('other')!.version, 2, 'the rest of the namespace went on');
  assert.equal(r.store.view.namespaces.get('ns2')!.get('k')!.version, 2, 'other namespaces went on');
  const refused = r.lines.find((l) => l.msg === 'entry refused');
  assert.match(String(refused?.reason), /ns1\/model nests deeper than 64 levels/);
});

test('H1c #3: when an unusable event id drops the cursor, the saved snapshot drops it too, without waiting for a revision', async (t) => {
  const dir = await tempDir(t);
  const identity = { environment: 'development', centralUrl: 'http://central/' };
  await mkdir(join(dir, 'cache'));
  const e = entry('ns', 'k', 'v') as Entry;
  const body = new PassThrough();
  const r = runtime(
    {
      listNamespace: async () => ({ kind: 'entries' as const, entries: [], refused: [], etag: undefined }),
      openWatch: async () => body,
    },
    {
      mode: 'stream',
      resyncIntervalMs: 1e9,
      output: {
        follow: true,
        writer: new AtomicWriter(join(dir, 'files')),
        specs: defaultFileSpecs(['ns']),
        snapshot: { cacheDir: join(dir, 'cache'), identity },
      },
    },
  );
  const savedCursor = async () => (await readSnapshot(join(dir, 'cache'), identity))?.cursor.lastEventId;
  r.engine.start();
  body.write(snapshotEvent('4', { ns: [e] }) + putEvent('5', { ...e, version: 2 }));
  await r.clock.runUntil(() => r.engine.status().lastEventId === '5' && r.publisher!.state.publishedRevision === 2);
  await r.publisher!.idle();
  assert.notEqual(await savedCursor(), undefined, 'a cursor was saved');
  // The bad id comes with a put that changes nothing: no new revision would save the cursor.
  body.write(putEvent('snow\u2603', { ...e, version: 2 }));
  await r.clock.runUntil(() => r.engine.status().lastEventId === undefined);
  await r.publisher!.idle();
  assert.equal(r.store.view.revision, 2, 'no new revision');
  assert.equal(await savedCursor(), undefined, 'on disk: no cursor either (a restart asks afresh)');
  await r.engine.stop();
  r.publisher!.stop();
});

/** A seeded pseudo-random source (mulberry32), so each simulated agent jitters differently but reproducibly. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('H1c #2 (issue 11 #10): an over-budget fleet behind one IP converges under the limit and stays there for an hour', async (t) => {
  // 4 agents × 3 namespaces at 1 s = 12 req/s against upstream's 10 req/s (burst 10) per IP.
  const clock = new FakeClock();
  const start = clock.now();
  const bucket = { tokens: 10, at: start };
  const WINDOW_MS = 10 * 60_000;
  const windows = Array.from({ length: 6 }, () => ({ ok: 0, limited: 0 }));
  const takeToken = (): boolean => {
    const now = clock.now();
    bucket.tokens = Math.min(10, bucket.tokens + ((now - bucket.at) / 1000) * 10);
    bucket.at = now;
    const window = windows[Math.floor((now - start) / WINDOW_MS)];
    if (bucket.tokens < 1) {
      if (window) window.limited++;
      return false;
    }
    bucket.tokens -= 1;
    if (window) window.ok++;
    return true;
  };
  const client: FakeClient = {
    listNamespace: async () => {
      if (!takeToken()) throw new CentralRateLimitedError(429, 'Rate limit exceeded', 1000);
      return { kind: 'not-modified' as const };
    },
    openWatch: async () => new PassThrough(),
  };
  const agents = [1, 2, 3, 4].map((seed) =>
    runtime(client, {
      namespaces: ['a', 'b', 'c'],
      clock,
      backoff: { baseMs: 100, capMs: 1000, random: seededRandom(seed) },
    }),
  );
  for (const agent of agents) agent.engine.start();
  while (clock.now() - start < windows.length * WINDOW_MS) await clock.next();
  for (const agent of agents) await agent.engine.stop();
  const figures = windows.map((w, i) => `${i * 10}-${i * 10 + 10} min: ${w.limited} × 429, ${(w.ok / 600).toFixed(1)} req/s`).join('; ');
  assert.ok(windows[0]!.limited > 0, `the fleet starts over budget: ${figures}`);
  for (const [i, w] of windows.entries()) {
    if (i >= 1) assert.equal(w.limited, 0, `no 429 after the first 10 minutes: ${figures}`);
    assert.ok(w.ok / 600 >= 5, `the fleet still uses at least half the budget: ${figures}`);
  }
  t.diagnostic(`fleet: ${figures}`);
});
