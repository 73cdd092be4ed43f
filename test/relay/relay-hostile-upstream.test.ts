// Upstream misbehaving, seen through the relay: 429 pauses every upstream request and
// stretches the interval (the agent's pacing); foreign and malformed entries are
// refused and the rest served; a garbage answer keeps the last-known-good, marked stale.
// Upstream here is a small HTTP double of the one list route, so each answer is chosen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../helpers/cli-process.ts';
import { defer } from '../helpers/cleanup.ts';
import { relayStatus, startRelayCli } from './relay-helpers.ts';

type Answer = { status: number; body: string; headers?: Record<string, string> };
const entry = (namespace: string, key: string, value: unknown, environment = 'development', version = 1) => ({
  id: `${namespace}-${key}`,
  namespace,
  key,
  value,
  environment,
  version,
  metadata: {},
});

async function upstreamDouble(t: { after: (fn: () => Promise<void>) => void }, answer: (path: string, n: number) => Answer) {
  const seen: Array<{ path: string; at: number; answeredAt: number }> = [];
  const server: Server = createServer((req, res) => {
    const request = { path: req.url ?? '', at: Date.now(), answeredAt: Number.POSITIVE_INFINITY };
    seen.push(request);
    const a = answer(request.path, seen.length);
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body, () => {
      request.answeredAt = Date.now();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(t, async () => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

test('429 from upstream: every request pauses, the interval doubles (pacing) and status says so', async (t) => {
  let limited = false;
  const upstream = await upstreamDouble(t, (path) =>
    limited
      ? { status: 429, body: 'Rate limit exceeded. Please try again later' }
      : { status: 200, body: JSON.stringify([entry(path.includes('/b?') ? 'b' : 'a', 'k', 1)]) },
  );
  const relay = await startRelayCli(t, upstream.url, [
    '--auth',
    'none',
    '--poll-interval',
    '1s',
    '--backoff-base',
    '500ms',
    '--backoff-max',
    '2s',
    '--namespaces',
    'a,b',
  ]);
  await waitFor(async () => ((await relayStatus(relay)).slots.every((s) => s.loaded) ? true : undefined));
  limited = true;
  const since = upstream.seen.length;
  await waitFor(() => (upstream.seen.length >= since + 3 ? true : undefined));
  // From each 429 answered to the next request sent; a request already under way when a 429 came back is no retry.
  const refused = upstream.seen.slice(since);
  const gaps = refused
    .slice(1)
    .map((next, i) => next.at - refused[i]!.answeredAt)
    .filter((gap) => gap >= 0);
  assert.ok(gaps.length >= 1);
  assert.ok(
    gaps.every((g) => g >= 450),
    `after a 429 no request comes sooner than the backoff base: ${gaps.join(', ')}`,
  );
  type Paced = { pacingFactor: number; effectiveIntervalMs: number; budgetExceeded: boolean };
  const status = await waitFor(async () => {
    const current = (await relayStatus(relay)) as unknown as Paced;
    return current.pacingFactor >= 2 ? current : undefined;
  });
  assert.ok(status.effectiveIntervalMs >= 2000);
  assert.equal(status.budgetExceeded, true);
  const read = await fetch(`${relay.url}/api/v1/configs/a`);
  assert.equal(read.status, 200, 'last-known-good still served');
  assert.equal(read.headers.get('x-config-stale'), 'true');
});

test('malformed entries are refused and the rest served; an answer with foreign entries is refused whole; garbage keeps the last-known-good', async (t) => {
  let answer: 'mixed' | 'foreign' | 'garbage' = 'mixed';
  const upstream = await upstreamDouble(t, () => {
    if (answer === 'garbage') return { status: 200, body: '<html>maintenance</html>' };
    const entries: unknown[] = [entry('a', 'good', 'yes'), { namespace: 'a', key: 'broken' }];
    if (answer === 'foreign') entries.push(entry('other', 'smuggled', 'no'), entry('a', 'prod-only', 'no', 'production'));
    return { status: 200, body: JSON.stringify(entries) };
  });
  const relay = await startRelayCli(t, upstream.url, ['--auth', 'none', '--sync-mode', 'poll', '--poll-interval', '1s']);
  const list = await fetch(`${relay.url}/api/v1/configs/a`);
  assert.equal(list.status, 200);
  assert.deepEqual(
    ((await list.json()) as Array<{ key: string }>).map((e) => e.key),
    ['good'],
    'the malformed entry is left out',
  );
  await relay.proc.waitForLog((l) => l.msg === 'entry refused' && l.kind === 'malformed');

  // An answer holding another namespace's or environment's entries is not for the question: refused whole.
  answer = 'foreign';
  await relay.proc.waitForLog((l) => l.msg === 'entry refused' && l.kind === 'foreign-answer');
  const kept = await fetch(`${relay.url}/api/v1/configs/a`);
  assert.deepEqual(
    ((await kept.json()) as Array<{ key: string }>).map((e) => e.key),
    ['good'],
  );
  assert.equal(kept.headers.get('x-config-stale'), 'true');
  assert.equal((await fetch(`${relay.url}/api/v1/configs/a/smuggled`)).status, 404);
  const cold = await fetch(`${relay.url}/api/v1/configs/fresh`);
  assert.equal(cold.status, 503, 'a cold namespace is not loaded by a foreign answer');
  assert.match(((await cold.json()) as { message: string }).message, /answer for "fresh" holds an entry of namespace "a"/);

  answer = 'garbage';
  await relay.proc.waitForLog((l) => l.msg === 'upstream sync failed; backing off' && /not JSON/.test(String(l.err)));
  const stale = await fetch(`${relay.url}/api/v1/configs/a`);
  assert.equal(stale.status, 200);
  assert.equal(stale.headers.get('x-config-stale'), 'true');
  assert.deepEqual(
    ((await stale.json()) as Array<{ key: string }>).map((e) => e.key),
    ['good'],
  );
});

test('a cold namespace upstream cannot serve is 503 with Retry-After, never 200 []', async (t) => {
  const upstream = await upstreamDouble(t, () => ({ status: 500, body: 'boom' }));
  const relay = await startRelayCli(t, upstream.url, ['--auth', 'none', '--request-timeout', '2s']);
  const response = await fetch(`${relay.url}/api/v1/configs/a`);
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('retry-after'), '5');
  assert.match(
    ((await response.json()) as { message: string }).message,
    /namespace "a" \(development\) is not loaded from upstream yet: central API answered 500/,
  );
  const watch = await fetch(`${relay.url}/api/v1/watch?namespaces=a&env=dev`);
  assert.equal(watch.status, 503);
});

test('an upstream answering the watch with 200 text/html (a proxy login page): the relay polls meanwhile and lives', async (t) => {
  const upstream = await upstreamDouble(t, (path) =>
    path.startsWith('/api/v1/watch')
      ? { status: 200, body: '<html>sign in</html>', headers: { 'content-type': 'text/html' } }
      : { status: 200, body: JSON.stringify([entry('a', 'k', 'v')]) },
  );
  const relay = await startRelayCli(t, upstream.url, ['--auth', 'none', '--namespaces', 'a']);
  const failed = await relay.proc.waitForLog((l) => l.msg === 'upstream watch failed; polling meanwhile');
  assert.equal(failed.code, 'LLMC_ERR_CENTRAL_PROTOCOL');
  const read = await fetch(`${relay.url}/api/v1/configs/a`);
  assert.equal(read.status, 200);
  assert.deepEqual(
    ((await read.json()) as Array<{ key: string }>).map((e) => e.key),
    ['k'],
  );
  assert.equal(relay.proc.child.exitCode, null, 'the relay is still running');
});
