// The relay end to end (real CLI, real dev-server on port 0, --auth none; auth has its
// own file): the dev-server's read API byte for byte, writes refused naming upstream,
// hostile names refused before anything is synced, the watch stream with resume,
// coalescing of cold reads, idle namespaces dropped, and the upstream budget.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCentral, waitFor, writeValue } from '../helpers/cli-process.ts';
import { get, rawRequest, type Target } from '../helpers/raw-http.ts';
import { openWatch, relayStatus, startRelayCli, upstreamRequests } from './relay-helpers.ts';
import { runColdReads } from './fanout-run.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const target = (url: string): Target => ({ kind: 'tcp', host: '127.0.0.1', port: Number(new URL(url).port) });

test('reads are byte-identical to the dev-server: lists, entries, ETag and 304, errors, health', async (t) => {
  const central = await startCentral(t, ['--seed', SEED]);
  const relay = await startRelayCli(t, central.url, ['--auth', 'none']);
  const paths = [
    '/health',
    '/api/v1/configs/ml-service?env=development',
    '/api/v1/configs/ml-service?env=PROD',
    '/api/v1/configs/team%2Fml',
    '/api/v1/configs/ml-service/model?env=dev',
    '/api/v1/configs/ml-service/missing?env=dev',
    '/api/v1/configs/empty-namespace?env=staging',
    '/api/v1/configs/ml-service?env=nowhere',
    '/api/v1/nothing-here',
  ];
  for (const path of paths) {
    const [fromCentral, fromRelay] = await Promise.all([
      rawRequest(target(central.url), get(path)),
      rawRequest(target(relay.url), get(path)),
    ]);
    assert.equal(fromRelay, fromCentral, path);
  }
  const list = await fetch(`${relay.url}/api/v1/configs/ml-service`);
  const etag = list.headers.get('etag')!;
  const conditional = get('/api/v1/configs/ml-service', { 'if-none-match': etag });
  const [c304, r304] = await Promise.all([rawRequest(target(central.url), conditional), rawRequest(target(relay.url), conditional)]);
  assert.match(r304, /^HTTP\/1.1 304/);
  assert.equal(r304, c304);
});

test('writes are refused with 405 naming upstream; history is not served', async (t) => {
  const central = await startCentral(t, ['--seed', SEED]);
  const relay = await startRelayCli(t, central.url, ['--auth', 'none']);
  for (const [method, path] of [
    ['POST', '/api/v1/configs/ml-service/model'],
    ['DELETE', '/api/v1/configs/ml-service/model?env=dev'],
    ['PUT', '/api/v1/configs/ml-service'],
    ['POST', '/api/v1/configs/ml-service/model/rollback/1'],
    ['POST', '/api/v1/watch?namespaces=ml-service'],
  ] as const) {
    const response = await fetch(`${relay.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: method === 'DELETE' ? null : '{}',
    });
    assert.equal(response.status, 405, `${method} ${path}`);
    assert.equal(response.headers.get('allow'), 'GET, HEAD');
    const body = (await response.json()) as { error: string; message: string };
    assert.equal(body.error, 'Method Not Allowed');
    assert.ok(body.message.includes(new URL(central.url).origin), body.message);
  }
  const history = await fetch(`${relay.url}/api/v1/configs/ml-service/model/history`);
  assert.equal(history.status, 404);
  assert.match(((await history.json()) as { message: string }).message, /central API at http/);
  assert.equal(upstreamRequests(central.proc).filter((r) => r.path.includes('model')).length, 0, 'nothing forwarded upstream');
});

test('hostile names, environments and encodings are refused before anything is synced', async (t) => {
  const central = await startCentral(t, ['--seed', SEED]);
  const relay = await startRelayCli(t, central.url, ['--auth', 'none', '--max-namespaces', '3']);
  const cases: Array<[string, number, RegExp]> = [
    ['/api/v1/configs/..%2Fetc?env=dev', 400, /not a namespace name/],
    ['/api/v1/configs/a%20b', 400, /not a namespace name/],
    [`/api/v1/configs/${'x'.repeat(300)}`, 400, /at most 253/],
    ['/api/v1/configs/%E0%A4%A', 400, /percent-encoding/],
    ['/api/v1/configs/ml-service?env=prod%00', 400, /Unknown environment/],
    ['/api/v1/watch?namespaces=ml-service,-bad&env=dev', 400, /"-bad" is not a namespace name/],
    ['/api/v1/watch?env=dev', 400, /name the namespaces/],
  ];
  for (const [path, status, message] of cases) {
    const response = await fetch(`${relay.url}${path}`);
    assert.equal(response.status, status, path);
    assert.match(((await response.json()) as { message: string }).message, message, path);
  }
  assert.equal((await relayStatus(relay)).namespaces, 0, 'no slot was created');
  assert.equal(upstreamRequests(central.proc).length, 0, 'nothing was asked upstream');
  for (const ns of ['a', 'b', 'c']) assert.equal((await fetch(`${relay.url}/api/v1/configs/${ns}`)).status, 200);
  const full = await fetch(`${relay.url}/api/v1/configs/d`);
  assert.equal(full.status, 503);
  assert.equal(full.headers.get('retry-after'), '60');
  assert.match(((await full.json()) as { message: string }).message, /--max-namespaces/);
});

test('watch: a snapshot, then put and delete events as upstream changes; resume with Last-Event-ID; foreign ids get a snapshot', async (t) => {
  const central = await startCentral(t, ['--seed', SEED]);
  const relay = await startRelayCli(t, central.url, ['--auth', 'none', '--sync-mode', 'poll', '--poll-interval', '1s']);
  const watch = await openWatch(`${relay.url}/api/v1/watch?namespaces=ml-service,team%2Fml&env=dev`);
  t.after(() => watch.close());
  assert.equal(watch.status, 200);
  await waitFor(() => watch.events.length >= 1 || undefined);
  const snapshot = watch.events[0]!;
  assert.equal(snapshot.event, 'snapshot');
  const snapshotData = JSON.parse(snapshot.data) as {
    revision: number;
    environment: string;
    namespaces: Record<string, Array<{ key: string }>>;
  };
  assert.equal(snapshotData.environment, 'development');
  assert.equal(String(snapshotData.revision), snapshot.id);
  assert.deepEqual(Object.keys(snapshotData.namespaces), ['ml-service', 'team/ml']);
  assert.deepEqual(snapshotData.namespaces['ml-service']!.map((e) => e.key).sort(), ['model', 'tags', 'temperature']);

  const written = await writeValue(central.url, 'ml-service', 'model', 'gpt-4.1');
  await waitFor(() => watch.events.find((e) => e.event === 'put'));
  const put = watch.events.find((e) => e.event === 'put')!;
  assert.deepEqual(JSON.parse(put.data), written, 'the entry exactly as upstream answered it');
  assert.ok(Number(put.id) > Number(snapshot.id));
  await fetch(`${central.url}/api/v1/configs/team%2Fml/owner?env=development`, { method: 'DELETE' });
  await waitFor(() => watch.events.find((e) => e.event === 'delete'));
  const deleted = watch.events.find((e) => e.event === 'delete')!;
  assert.equal(deleted.data, JSON.stringify({ namespace: 'team/ml', key: 'owner', environment: 'development' }));

  const resumed = await openWatch(`${relay.url}/api/v1/watch?namespaces=ml-service,team%2Fml&env=development`, { 'last-event-id': put.id });
  t.after(() => resumed.close());
  await waitFor(() => resumed.events.length >= 1 || undefined);
  assert.deepEqual(
    resumed.events.map((e) => [e.event, e.id, e.data]),
    [['delete', deleted.id, deleted.data]],
    'only what was missed',
  );
  for (const id of ['999999999999999', 'garbage', '-1', '1e3', ' 7']) {
    const fresh = await openWatch(`${relay.url}/api/v1/watch?namespaces=ml-service&env=development`, { 'last-event-id': id });
    t.after(() => fresh.close());
    await waitFor(() => fresh.events.length >= 1 || undefined);
    assert.equal(fresh.events[0]!.event, 'snapshot', `Last-Event-ID ${id}`);
  }
});

test('1,000 concurrent first reads of a cold namespace make one upstream request', async () => {
  const r = await runColdReads(1000);
  assert.equal(r.ok, 1000, 'every reader got 200');
  assert.equal(r.distinctBodies, 1, 'every reader got the same bytes');
  assert.equal(r.upstreamRequests, 1);
});

test('a namespace nobody reads is dropped after --idle-timeout; preloaded ones stay', async (t) => {
  const central = await startCentral(t, ['--seed', SEED]);
  const relay = await startRelayCli(t, central.url, [
    '--auth',
    'none',
    '--sync-mode',
    'poll',
    '--idle-timeout',
    '1s',
    '--poll-interval',
    '1s',
    '--namespaces',
    'team/ml',
  ]);
  assert.equal((await fetch(`${relay.url}/api/v1/configs/ml-service`)).status, 200);
  await waitFor(async () => ((await relayStatus(relay)).slots.some((s) => s.namespace === 'ml-service') ? undefined : true));
  const status = await relayStatus(relay);
  assert.deepEqual(
    status.slots.map((s) => s.namespace),
    ['team/ml'],
  );
  const before = upstreamRequests(central.proc, '/api/v1/configs/ml-service').length;
  const teamBefore = upstreamRequests(central.proc, '/api/v1/configs/team%2Fml').length;
  await waitFor(() => (upstreamRequests(central.proc, '/api/v1/configs/team%2Fml').length >= teamBefore + 2 ? true : undefined));
  assert.equal(upstreamRequests(central.proc, '/api/v1/configs/ml-service').length, before, 'no more upstream requests for it');
  // An open watch keeps a namespace alive whatever the idle timeout.
  const watch = await openWatch(`${relay.url}/api/v1/watch?namespaces=ml-service&env=development`);
  t.after(() => watch.close());
  await waitFor(() => watch.events.length >= 1 || undefined);
  // Evidence that idle sweeps ran while it was watched: the relay keeps polling it, three
  // polls at 1 s span more than the 1 s idle timeout (sweeps run every 0.5 s).
  const watchedFrom = upstreamRequests(central.proc, '/api/v1/configs/ml-service').length;
  await waitFor(
    () => (upstreamRequests(central.proc, '/api/v1/configs/ml-service').length >= watchedFrom + 3 ? true : undefined),
    undefined,
    () => 'three more upstream polls of the watched namespace',
  );
  assert.ok((await relayStatus(relay)).slots.some((s) => s.namespace === 'ml-service' && s.streams === 1));
});

test('upstream budget: never more than --upstream-rps; the interval stretches and status and metrics say so', async (t) => {
  const central = await startCentral(t, ['--seed', SEED]);
  const namespaces = Array.from({ length: 6 }, (_, i) => `ns-${i}`);
  const relay = await startRelayCli(t, central.url, [
    '--auth',
    'none',
    '--sync-mode',
    'poll',
    '--upstream-rps',
    '2',
    '--poll-interval',
    '1s',
    '--namespaces',
    namespaces.join(','),
  ]);
  const since = Date.now();
  await waitFor(() => (upstreamRequests(central.proc).filter((r) => r.time >= since).length >= 14 ? true : undefined));
  // The server logs a request when it answers it, so on a loaded machine single seconds can
  // bunch; the rate over the whole run is what the budget bounds (each second exactly: the
  // budget's property test in relay-units.test.ts).
  const times = upstreamRequests(central.proc).map((r) => r.time);
  const spanSeconds = (times.at(-1)! - times[0]!) / 1000;
  assert.ok(times.length <= 2 * spanSeconds + 2, `${times.length} requests in ${spanSeconds} s at --upstream-rps 2`);
  assert.ok(times.length >= 2 * spanSeconds - 4, `the budget is used, not starved: ${times.length} requests in ${spanSeconds} s`);
  const status = await relayStatus(relay);
  assert.equal(status.effectiveIntervalMs, 3000, '6 namespaces at 2 requests/s: one round every 3 s');
  assert.equal(status.budgetExceeded, true);
  const metrics = await (await fetch(`${relay.admin}/metrics`)).text();
  assert.match(metrics, /^llm_config_relay_budget_exceeded 1$/m);
  assert.match(metrics, /^llm_config_relay_effective_interval_seconds 3$/m);
});

test('--sync-mode stream: an upstream with a watch reaches agents at once, with no polling in between', async (t) => {
  const central = await startCentral(t, ['--seed', SEED]);
  const relay = await startRelayCli(t, central.url, ['--auth', 'none', '--poll-interval', '10m', '--namespaces', 'ml-service,team/ml']);
  await relay.proc.waitForLog((l) => l.msg === 'upstream watch stream connected' && l.namespaces === 2);
  const watch = await openWatch(`${relay.url}/api/v1/watch?namespaces=ml-service&env=development`);
  t.after(() => watch.close());
  await waitFor(() => watch.events.length >= 1 || undefined);
  await writeValue(central.url, 'ml-service', 'model', 'streamed');
  const put = await waitFor(() => watch.events.find((e) => e.event === 'put' && e.data.includes('"streamed"')));
  assert.ok(put);
  assert.equal(upstreamRequests(central.proc, '/api/v1/configs/ml-service').length, 1, 'one list at start, then the stream only');
  // A namespace asked for later is loaded by one list, then joins the stream.
  assert.equal((await fetch(`${relay.url}/api/v1/configs/fresh`)).status, 200);
  await relay.proc.waitForLog((l) => l.msg === 'upstream watch stream connected' && l.namespaces === 3);
  await writeValue(central.url, 'fresh', 'k', 'v');
  await waitFor(
    async () => ((await (await fetch(`${relay.url}/api/v1/configs/fresh/k`)).json()) as { value?: string }).value === 'v' || undefined,
  );
  assert.equal(upstreamRequests(central.proc, '/api/v1/configs/fresh').length, 1);
});
