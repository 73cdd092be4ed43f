// The local read API over loopback TCP and the Unix socket: same answers, byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'node:net';
import { lstat, writeFile } from 'node:fs/promises';
import {
  agentArgs,
  CliProcess,
  spawnCli,
  startCentral,
  tempDir,
  waitFor,
  writeValue,
  type TestContextLike,
} from '../helpers/cli-process.ts';
import { get, rawRequest, type Target } from '../helpers/raw-http.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const run = promisify(execFile);

async function startAgent(t: TestContextLike, more: string[] = []) {
  const dir = await tempDir(t);
  const { url } = await startCentral(t, ['--seed', SEED]);
  const socket = join(dir, 'agent.sock');
  const agent = spawnCli(t, agentArgs({ url, namespaces: 'ml-service,team/ml', dir, socket, extra: more }));
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  const [host, port] = String(started.http).split(':');
  const [, adminPort] = String(started.admin).split(':');
  return {
    dir,
    url,
    socket,
    agent,
    http: `http://${host}:${port}`,
    admin: `http://127.0.0.1:${adminPort}`,
    tcp: { kind: 'tcp', host: host!, port: Number(port) } as Target,
    unix: { kind: 'socket', path: socket } as Target,
  };
}

test('the same table of requests over TCP and the Unix socket answers byte for byte the same', async (t) => {
  const a = await startAgent(t);
  // rawRequest gives each transport its default Host (over TCP the loopback address it connects to).
  const table = [
    get('/api/v1/configs/ml-service/model'),
    get('/api/v1/configs/ml-service'),
    get('/api/v1/configs/team%2Fml/owner'),
    get('/api/v1/configs/ml-service/model?env=dev'),
    get('/api/v1/configs/ml-service/model?env=prod'),
    get('/api/v1/configs/ml-service/model?env=qa'),
    get('/api/v1/configs/ml-service/nope'),
    get('/api/v1/configs/unknown-ns/model'),
    get('/v1/values/ml-service/model'),
    get('/v1/values/ml-service/tags'),
    get('/v1/values/ml-service/model', {}, 'HEAD'),
    get('/api/v1/configs/ml-service/model', {}, 'DELETE'),
    get('/api/v1/configs/ml-service/model', { 'content-length': '2' }, 'POST') + '{}',
    get('/v1/values/ml-service/model', { 'content-length': '3' }) + 'abc',
    get('/v1/watch?index=0&wait=10ms'),
    get('/v1/watch?index=abc'),
    get('/v1/shutdown'),
    get('/api/v1/configs/%E0%A4%A/x'),
    get(`/api/v1/configs/${'a'.repeat(5000)}`),
    get('/metrics'),
  ];
  for (const request of table) {
    const overTcp = await rawRequest(a.tcp, request);
    const overSocket = await rawRequest(a.unix, request);
    assert.equal(overSocket, overTcp, request.split('\r\n')[0]);
    assert.match(overTcp, /^HTTP\/1\.1 \d{3} /);
  }
  const statuses = await Promise.all(table.map(async (r) => Number((await rawRequest(a.tcp, r)).slice(9, 12))));
  assert.deepEqual(statuses, [200, 200, 200, 200, 404, 400, 404, 404, 200, 200, 200, 405, 405, 413, 200, 400, 405, 400, 414, 404]);
});

test('answers: upstream entry shape, bare values, ETag and 304, revision header, JSON errors naming what is missing', async (t) => {
  const a = await startAgent(t);
  const entry = await fetch(`${a.http}/api/v1/configs/ml-service/model`);
  const body = (await entry.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['environment', 'id', 'key', 'metadata', 'namespace', 'value', 'version']);
  assert.equal(body.value, 'gpt-4o-mini');
  const etag = entry.headers.get('etag')!;
  assert.equal(entry.headers.get('x-config-revision'), '1');
  assert.equal((await fetch(`${a.http}/api/v1/configs/ml-service/model`, { headers: { 'if-none-match': etag } })).status, 304);
  const text = await fetch(`${a.http}/v1/values/ml-service/model`);
  assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(await text.text(), 'gpt-4o-mini');
  assert.deepEqual(await (await fetch(`${a.http}/v1/values/ml-service/tags`)).json(), ['a', 'b']);
  const list = (await (await fetch(`${a.http}/api/v1/configs/ml-service`)).json()) as Array<{ key: string }>;
  assert.deepEqual(
    list.map((e) => e.key),
    ['model', 'tags', 'temperature'],
  );
  assert.deepEqual(await (await fetch(`${a.http}/api/v1/configs/ml-service/nope`)).json(), {
    error: 'Not Found',
    message: 'Configuration not found: ml-service:nope',
  });
  assert.deepEqual(await (await fetch(`${a.http}/api/v1/configs/ml-service/model?env=production`)).json(), {
    error: 'Not Found',
    message: 'this agent serves environment "development", not "production"',
  });
  await writeValue(a.url, 'ml-service', 'model', 'gpt-5');
  await waitFor(async () => (await (await fetch(`${a.http}/v1/values/ml-service/model`)).text()) === 'gpt-5' || undefined);
  const after = await fetch(`${a.http}/api/v1/configs/ml-service/model`, { headers: { 'if-none-match': etag } });
  assert.equal(after.status, 200, 'a changed entry no longer matches the old ETag');
  assert.equal(after.headers.get('x-config-revision'), '2');
});

test('curl as a real client over the Unix socket; the socket is 0660', async (t) => {
  const a = await startAgent(t);
  const { stdout } = await run('curl', ['-sS', '--unix-socket', a.socket, 'http://agent/v1/values/team%2Fml/owner']);
  assert.equal(stdout, 'ml-platform');
  const { stdout: status } = await run('curl', ['-sS', '--unix-socket', a.socket, 'http://agent/v1/status']);
  assert.equal(JSON.parse(status).ready, true);
  assert.equal((await lstat(a.socket)).mode & 0o777, 0o660);
});

/** Resolves once the agent counts `n` open watches (long-polls and SSE streams) in /v1/status. */
async function openWatches(a: { http: string }, n: number): Promise<void> {
  await waitFor(
    async () => (((await (await fetch(`${a.http}/v1/status`)).json()) as { watchers: number }).watchers === n ? true : undefined),
    undefined,
    () => `${n} open watches in /v1/status`,
  );
}

test('a long-poll watch is held until a change, and answers unchanged at its own timeout', async (t) => {
  const a = await startAgent(t);
  let longSettled = false;
  const long = fetch(`${a.http}/v1/watch?index=1&wait=5m`).then(async (r) => {
    longSettled = true;
    return { at: performance.now(), body: await r.json() };
  });
  const short = (await (await fetch(`${a.http}/v1/watch?index=1&wait=300ms`)).json()) as { index: number; changed: boolean };
  // The short watch ran out of time with nothing changed; the long one, asked first, is still held.
  assert.deepEqual(short, { index: 1, changed: false, changes: [] });
  await openWatches(a, 1);
  assert.equal(longSettled, false, 'a long-poll with nothing changed is not answered before its timeout');
  const wroteAt = performance.now();
  await writeValue(a.url, 'ml-service', 'temperature', 0.5);
  const { at, body } = await long;
  // A figure, not a bound (the bound is the test timeout; bench/propagation.ts measures it).
  t.diagnostic(`watch returned ${Math.round(at - wroteAt)}ms after the central write`);
  assert.deepEqual(body, { index: 2, changed: true, changes: [{ type: 'put', namespace: 'ml-service', key: 'temperature' }] });
  await openWatches(a, 0);
});

test('SSE events carry revisions and keys, never values', async (t) => {
  const a = await startAgent(t);
  const response = await fetch(`${a.http}/v1/events`);
  const reader = response.body!.getReader();
  await writeValue(a.url, 'ml-service', 'model', 'very-secret-model-name');
  let text = '';
  while (!text.includes('event: revision')) text += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  assert.match(text, /event: reset\nid: 1\n/);
  assert.match(
    text,
    /event: revision\nid: 2\ndata: \{"revision":2,"changes":\[\{"type":"put","namespace":"ml-service","key":"model"\}\]\}/,
  );
  assert.doesNotMatch(text, /very-secret/);
});

test('--max-watchers: the watch or stream beyond the cap gets 503 JSON with Retry-After, counted; those held are still served', async (t) => {
  const a = await startAgent(t, ['--max-watchers', '3']);
  const streams = await Promise.all([fetch(`${a.http}/v1/events`), fetch(`${a.http}/v1/events`)]);
  const readers = streams.map((r) => r.body!.getReader());
  const held = fetch(`${a.http}/v1/watch?index=1&wait=5m`).then((r) => r.json());
  await openWatches(a, 3);
  for (const path of ['/v1/events', '/v1/watch?index=1&wait=5m']) {
    const refused = await fetch(`${a.http}${path}`);
    assert.equal(refused.status, 503, path);
    assert.equal(refused.headers.get('retry-after'), '2');
    const body = (await refused.json()) as { error: string; message: string };
    assert.equal(body.error, 'Service Unavailable');
    assert.match(body.message, /--max-watchers=3/);
  }
  // An answer given at once holds nothing, so it is never refused.
  assert.equal((await fetch(`${a.http}/v1/watch?index=0&wait=5m`)).status, 200);
  await writeValue(a.url, 'ml-service', 'temperature', 0.25);
  assert.deepEqual(await held, { index: 2, changed: true, changes: [{ type: 'put', namespace: 'ml-service', key: 'temperature' }] });
  for (const reader of readers) {
    let text = '';
    while (!text.includes('event: revision')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /id: 2\n/);
  }
  // The long-poll answered, so a slot is free again.
  await openWatches(a, 2);
  const again = await fetch(`${a.http}/v1/events`);
  assert.equal(again.status, 200);
  await again.body!.cancel();
  for (const reader of readers) await reader.cancel();
  const metrics = await (await fetch(`${a.admin}/metrics`)).text();
  assert.match(metrics, /llm_config_http_requests_total\{route="\/v1\/events",code="503"\} 1/);
  assert.match(metrics, /llm_config_http_requests_total\{route="\/v1\/watch",code="503"\} 1/);
});

test('admin address: health, readiness and metrics with route templates, never a value', async (t) => {
  const a = await startAgent(t);
  await fetch(`${a.http}/api/v1/configs/ml-service/model`);
  await fetch(`${a.http}/api/v1/configs/team%2Fml/owner`);
  assert.equal(await (await fetch(`${a.admin}/healthz`)).text(), 'ok: sync loop running\n');
  assert.equal(await (await fetch(`${a.admin}/readyz`)).text(), 'ok: configuration loaded\n');
  const metrics = await (await fetch(`${a.admin}/metrics`)).text();
  assert.match(metrics, /llm_config_http_requests_total\{route="\/api\/v1\/configs\/:ns\/:key",code="200"\} 2/);
  assert.match(metrics, /llm_config_entries 4/);
  assert.doesNotMatch(metrics, /gpt-4o-mini|ml-platform|team%2Fml/);
  assert.equal((await fetch(`${a.admin}/api/v1/configs/ml-service/model`)).status, 404);
});

test('SSRF guard and local bearer token', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'local-token'), 's3cret\n');
  const a = await startAgent(t, ['--require-request-header', 'true', '--local-token-file', join(dir, 'local-token')]);
  const auth = { authorization: 'Bearer s3cret' };
  assert.equal((await fetch(`${a.http}/v1/values/ml-service/model`)).status, 401);
  const refused = await fetch(`${a.http}/v1/values/ml-service/model`, { headers: auth });
  assert.equal(refused.status, 403);
  assert.match(((await refused.json()) as { message: string }).message, /X-LLM-Config-Request: true/);
  assert.equal((await fetch(`${a.http}/v1/status`, { headers: auth })).status, 200, 'status carries no value: no header needed');
  const ok = await fetch(`${a.http}/v1/values/ml-service/model`, { headers: { ...auth, 'x-llm-config-request': 'true' } });
  assert.equal(await ok.text(), 'gpt-4o-mini');
});

test('SIGTERM with a watch open: the watch is answered, the agent exits 0 and removes its socket', async (t) => {
  const a = await startAgent(t);
  const watch = fetch(`${a.http}/v1/watch?index=1&wait=5m`).then((r) => r.json());
  const events = await fetch(`${a.http}/v1/events`);
  await openWatches(a, 2); // both are held by the agent before the signal
  a.agent.child.kill('SIGTERM');
  // Answered at once rather than after 5 minutes: the test timeout is far below the wait.
  assert.deepEqual(await watch, { index: 1, changed: false, changes: [] });
  await events.text(); // the SSE stream is ended, not left hanging
  assert.equal(await a.agent.exitCode(), 0);
  await assert.rejects(lstat(a.socket), /ENOENT/);
});

test('POST /v1/shutdown stops the agent (Jobs without native sidecars)', async (t) => {
  const a = await startAgent(t);
  assert.equal((await fetch(`${a.http}/v1/shutdown`, { method: 'POST' })).status, 403);
  const response = await fetch(`${a.http}/v1/shutdown`, { method: 'POST', headers: { 'x-llm-config-request': 'true' } });
  assert.equal(response.status, 202);
  assert.equal(await a.agent.exitCode(), 0);
});

test('a stale socket from a crash is replaced; a missing socket directory is a clear error', async (t) => {
  const a = await startAgent(t);
  a.agent.child.kill('SIGKILL');
  await a.agent.exited;
  assert.ok((await lstat(a.socket)).isSocket(), 'SIGKILL leaves the socket file behind');
  const again = spawnCli(t, agentArgs({ url: a.url, namespaces: 'ml-service', dir: a.dir, socket: a.socket }));
  await again.waitForLog((l) => l.msg === 'agent started');
  const { stdout } = await run('curl', ['-sS', '--unix-socket', a.socket, 'http://agent/v1/values/ml-service/model']);
  assert.equal(stdout, 'gpt-4o-mini');
  const missing = new CliProcess(
    agentArgs({
      url: a.url,
      namespaces: 'ml-service',
      dir: a.dir,
      outputDir: join(a.dir, 'f2'),
      cacheDir: join(a.dir, 'c2'),
      socket: join(a.dir, 'nope', 'a.sock'),
    }),
  );
  assert.equal(await missing.exitCode(), 2);
  assert.match(
    missing.stderrText.at(-1)!,
    /^llm-config agent: --socket=.*nope\/a\.sock: a path in an existing directory \(.*nope does not exist\)$/,
  );
});

test('DNS rebinding: over TCP a non-loopback Host or Origin gets 403 JSON on every route; over the socket any Host works', async (t) => {
  const a = await startAgent(t);
  const refused: Array<[string, Record<string, string>, string?]> = [
    ['/v1/values/ml-service/model', { host: 'evil.example' }],
    ['/v1/values/ml-service/model', { host: 'evil.example:8080' }],
    ['/api/v1/configs/ml-service', { host: '10.0.0.7:8080' }],
    ['/v1/status', { host: 'localhost.evil.example' }],
    ['/v1/watch?index=0&wait=10ms', { host: '[::2]:80' }],
    ['/v1/values/ml-service/model', { host: '127.0.0.1', origin: 'http://evil.example' }],
    ['/v1/values/ml-service/model', { host: 'localhost', origin: 'null' }],
    [
      '/v1/shutdown',
      { host: 'evil.example', origin: 'http://evil.example', 'x-llm-config-request': 'true', 'content-length': '0' },
      'POST',
    ],
    ['/v1/shutdown', { host: '127.0.0.1', origin: 'https://evil.example', 'x-llm-config-request': 'true', 'content-length': '0' }, 'POST'],
  ];
  for (const [path, headers, method] of refused) {
    const answer = await rawRequest(a.tcp, get(path, headers, method));
    assert.match(answer, /^HTTP\/1\.1 403 /, `${method ?? 'GET'} ${path} ${JSON.stringify(headers)}`);
    assert.match(answer, /content-type: application\/json/);
    assert.match(answer, /DNS rebinding guard/);
    assert.doesNotMatch(answer, /gpt-4o-mini/);
  }
  const accepted = [
    'localhost',
    'LOCALHOST:8080',
    '127.0.0.1',
    `127.0.0.1:${a.tcp.kind === 'tcp' ? a.tcp.port : 0}`,
    '127.8.9.10:1',
    '[::1]:8080',
    '[::1]',
  ];
  for (const host of accepted) {
    const answer = await rawRequest(a.tcp, get('/v1/values/ml-service/model', { host, origin: 'http://localhost:3000' }));
    assert.match(answer, /^HTTP\/1\.1 200 /, host);
  }
  // Over the Unix socket a browser cannot connect, so any Host is fine (curl sends "agent").
  assert.match(await rawRequest(a.unix, get('/v1/values/ml-service/model', { host: 'evil.example' })), /^HTTP\/1\.1 200 /);
  const { stdout } = await run('curl', ['-sS', '--unix-socket', a.socket, 'http://agent/v1/values/ml-service/model']);
  assert.equal(stdout, 'gpt-4o-mini');
  assert.equal(a.agent.child.exitCode, null, 'the refused shutdown did not stop the agent');
});

test('Host rule gaps: two Host headers get 400 on both transports; over TCP no Host gets 403, shutdown included', async (t) => {
  const a = await startAgent(t);
  const exchange = (target: Target, text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      // Written as is: rawRequest would add the Host this test leaves out.
      const socket = target.kind === 'tcp' ? connect(target.port, target.host) : connect(target.path);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c)).on('error', reject);
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.write(text.replace(/\n/g, '\r\n'));
    });
  const shutdown = 'x-llm-config-request: true\ncontent-length: 0\nconnection: close\n';
  for (const target of [a.tcp, a.unix]) {
    for (const hosts of [
      'host: localhost\nhost: evil.example\n',
      'host: evil.example\nhost: localhost\n',
      'host: localhost\nhost: localhost\n',
    ]) {
      const read = await exchange(target, `GET /v1/values/ml-service/model HTTP/1.1\n${hosts}connection: close\n\n`);
      assert.match(read, /^HTTP\/1\.1 400 /, `${target.kind} ${hosts}`);
      assert.match(read, /Host headers/);
      assert.doesNotMatch(read, /gpt-4o-mini/);
      const stop = await exchange(target, `POST /v1/shutdown HTTP/1.1\n${hosts}${shutdown}\n`);
      assert.match(stop, /^HTTP\/1\.1 400 /, `${target.kind} shutdown ${hosts}`);
    }
  }
  for (const path of ['/v1/values/ml-service/model', '/v1/status']) {
    const read = await exchange(a.tcp, `GET ${path} HTTP/1.0\n\n`);
    assert.match(read, /^HTTP\/1\.1 403 /, path);
    assert.match(read, /a Host header is required over TCP/);
    assert.doesNotMatch(read, /gpt-4o-mini/);
  }
  assert.match(await exchange(a.tcp, `POST /v1/shutdown HTTP/1.0\n${shutdown}\n`), /^HTTP\/1\.1 403 /);
  // The socket keeps taking HTTP/1.0 without Host (no browser can reach it).
  assert.match(await exchange(a.unix, 'GET /v1/values/ml-service/model HTTP/1.0\n\n'), /^HTTP\/1\.1 200 [\s\S]*gpt-4o-mini$/);
  assert.equal(a.agent.child.exitCode, null, 'no refused shutdown stopped the agent');
});

test('HEAD on /v1/watch and /v1/events answers like GET without a body', async (t) => {
  const a = await startAgent(t);
  const watch = await rawRequest(a.tcp, get('/v1/watch?index=0&wait=10ms', {}, 'HEAD'));
  assert.match(watch, /^HTTP\/1\.1 200 /);
  assert.match(watch, /content-type: application\/json/);
  assert.match(watch, /\r\n\r\n$/, 'no body');
  const events = await rawRequest(a.tcp, get('/v1/events', {}, 'HEAD'));
  assert.match(events, /^HTTP\/1\.1 200 /);
  assert.match(events, /content-type: text\/event-stream/);
  assert.doesNotMatch(events, /event: /, 'no stream');
});

test('an index or Last-Event-ID from the future (another life of the agent) answers a reset at once', async (t) => {
  const a = await startAgent(t);
  // wait=5m: were the future index waited on, this test would time out instead of passing.
  const body = await (await fetch(`${a.http}/v1/watch?index=999999&wait=5m`)).json();
  assert.deepEqual(body, { index: 1, changed: true, changes: null }, 'changes: null means reload everything you use');
  const controller = new AbortController();
  const response = await fetch(`${a.http}/v1/events`, { headers: { 'last-event-id': '999999' }, signal: controller.signal });
  const reader = response.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  assert.match(text, /^event: reset\nid: 1\ndata: \{"revision":1\}\n\n/);
});

test('a non-loopback --http-addr is refused at start naming flag, value and what is accepted; --allow-non-loopback warns', async (t) => {
  const dir = await tempDir(t);
  const { url } = await startCentral(t, ['--seed', SEED]);
  const args = (addr: string, more: string[] = []) =>
    agentArgs({ url, namespaces: 'ml-service', dir, httpAddr: addr, socket: 'off', extra: more });
  for (const [addr, shown] of [
    ['0.0.0.0:0', '0.0.0.0:0'],
    ['[::]:0', '[::]:0'],
    ['10.1.2.3:8080', '10.1.2.3:8080'],
  ]) {
    const refused = new CliProcess(args(addr!));
    assert.equal(await refused.exitCode(), 2);
    assert.deepEqual(refused.stderrText, [
      `llm-config agent: --http-addr=${shown}: a loopback address (localhost, 127.0.0.0/8 or [::1]): the local API serves configuration values; add --allow-non-loopback to listen there anyway`,
    ]);
  }
  const allowed = spawnCli(t, args('0.0.0.0:0', ['--allow-non-loopback']));
  const warning = await allowed.waitForLog((l) => l.level === 'warn' && String(l.msg).startsWith('the local API listens beyond loopback'));
  assert.match(String(warning.http), /^0\.0\.0\.0:\d+$/);
  const started = await allowed.waitForLog((l) => l.msg === 'agent started');
  const port = String(started.http).split(':')[1];
  const local = spawnCli(t, args('localhost:0'));
  await local.waitForLog((l) => l.msg === 'agent started');
  assert.ok(!local.logs.some((l) => String(l.msg).startsWith('the local API listens beyond loopback')));
  assert.equal((await fetch(`http://127.0.0.1:${port}/v1/status`)).status, 200);
});
