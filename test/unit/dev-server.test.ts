import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DevStore, upstreamTimestamp } from '../../dev-server/dev-store.ts';
import { UpstreamQuirks } from '../../dev-server/upstream-quirks.ts';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { createDevServerHandler } from '../../dev-server/http-app.ts';
import { testLogger } from '../helpers/test-logger.ts';

test('upstream version semantics: +1 per write, rollback = new id, delete keeps history, re-create restarts at 1', () => {
  const store = new DevStore();
  const v1 = store.set('production', 'ns', 'k', 'a', 'u');
  const v2 = store.set('production', 'ns', 'k', 'a', 'u');
  assert.deepEqual([v1.version, v2.version, v1.id === v2.id], [1, 2, true]);
  const rolled = store.rollback('production', 'ns', 'k', 1, 'u')!;
  assert.equal(rolled.version, 3);
  assert.notEqual(rolled.id, v1.id);
  assert.deepEqual(
    store.history('production', 'ns', 'k').map((h) => h.version),
    [3, 2, 1],
  );
  assert.equal(store.delete('production', 'ns', 'k'), true);
  assert.equal(store.get('production', 'ns', 'k'), undefined);
  const again = store.set('production', 'ns', 'k', 'b', 'u');
  assert.equal(again.version, 1);
  assert.notEqual(again.id, rolled.id);
  assert.equal(store.set('production', 'ns', 'n', null, 'u').value, '', 'null is stored as ""');
});

test('event log: resume from a revision, or undefined when it no longer reaches back', () => {
  const store = new DevStore();
  store.set('production', 'a', 'k', 1, 'u');
  store.set('staging', 'a', 'k', 1, 'u');
  store.set('production', 'b', 'k', 1, 'u');
  store.delete('production', 'a', 'k');
  assert.deepEqual(store.eventsSince(1, 'production', new Set(['a'])), [
    { revision: 4, type: 'delete', environment: 'production', namespace: 'a', key: 'k' },
  ]);
  assert.equal(store.eventsSince(99, 'production', new Set(['a'])), undefined);
});

test('timestamps carry +00:00 and nanosecond digits, like upstream', () => {
  assert.match(upstreamTimestamp(new Date(0)), /^1970-01-01T00:00:00\.000000000\+00:00$/);
});

test('upstream middleware order: rate limit, ban, TLS header, input filter', () => {
  const quirks = new UpstreamQuirks();
  const https = { 'x-forwarded-proto': 'https' };
  assert.deepEqual(quirks.check('1.1.1.1', '/api/v1/configs/a', {}, 0), {
    ok: false,
    status: 426,
    body: 'Insecure protocol: TLS is required',
    reason: 'tls',
  });
  for (const bad of ['/api/v1/configs/a?env=x&y=1', "/api/v1/configs/a'", '/api/v1/configs/../x', `/api/v1/${'a'.repeat(1000)}`]) {
    assert.equal(quirks.check('2.2.2.2', bad, https, 10_000).ok ? 200 : 400, 400, bad);
  }
  assert.deepEqual(quirks.check('3.3.3.3', '/api/v1/configs/team%2Fml?env=prod', https, 20_000), { ok: true });
  // per-IP bucket: 10 burst, then 429s; 10 violations ban the IP for an hour
  const now = 100_000;
  const statuses = Array.from({ length: 25 }, () => {
    const verdict = quirks.check('4.4.4.4', '/api/v1/configs/a', https, now);
    return verdict.ok ? 200 : verdict.status;
  });
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
  assert.deepEqual(statuses.slice(10), Array(15).fill(429));
  assert.deepEqual(quirks.stats().banned, ['4.4.4.4']);
  const later = quirks.check('4.4.4.4', '/api/v1/configs/a', https, now + 60_000);
  assert.equal(later.ok ? 200 : later.status, 403);
});

async function devServer(t: { after: (fn: () => void) => void }) {
  const store = new DevStore();
  store.set('development', 'ns', 'k', 'v', 'u');
  const handler = createDevServerHandler(store, { strict: false, tokens: [], pingIntervalMs: 60_000, logger: testLogger().logger });
  const server = createServer((req, res) => void handler.handle(req, res)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, store };
}

test('issue 11 #6: a POST of a value nested deeper than 64 levels is a 400 naming the limit; the server lives on', async (t) => {
  const { url } = await devServer(t);
  for (const depth of [65, 100_000]) {
    const response = await fetch(`${url}/api/v1/configs/ns/deep`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"env":"development","value":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    });
    assert.equal(response.status, 400, `depth ${depth}`);
    assert.match(((await response.json()) as { message: string }).message, /nested deeper than 64 levels/);
  }
  const ok = await fetch(`${url}/api/v1/configs/ns/fine`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"env":"development","value":${'['.repeat(63)}${']'.repeat(63)}}`,
  });
  assert.equal(ok.status, 200);
  assert.equal((await fetch(`${url}/api/v1/configs/ns?env=development`)).status, 200);
});

test('issue 11 #9: a watch resuming from a Last-Event-ID from the future (or garbage) gets a fresh snapshot', async (t) => {
  const { url } = await devServer(t);
  for (const lastEventId of ['999999', '-5', 'abc', '1.5']) {
    const controller = new AbortController();
    const response = await fetch(`${url}/api/v1/watch?namespaces=ns&env=development`, {
      headers: { 'last-event-id': lastEventId },
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    assert.match(text, /^event: snapshot\nid: 1\n/, `Last-Event-ID ${lastEventId}`);
  }
});
