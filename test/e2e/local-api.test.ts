// The local read API over loopback TCP and the Unix socket: same answers, byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { lstat, writeFile } from 'node:fs/promises';
import { CliProcess, spawnCli, startCentral, tempDir, waitFor, writeValue, type TestContextLike } from '../helpers/cli-process.ts';
import { get, rawRequest, type Target } from '../helpers/raw-http.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const run = promisify(execFile);

async function startAgent(t: TestContextLike, more: string[] = []) {
  const dir = await tempDir(t);
  const { url } = await startCentral(t, ['--seed', SEED]);
  const socket = join(dir, 'agent.sock');
  const agent = spawnCli(t, [
    'agent',
    '--central-url',
    url,
    '--namespaces',
    'ml-service,team/ml',
    '--output-dir',
    join(dir, 'files'),
    '--cache-dir',
    join(dir, 'cache'),
    '--http-addr',
    '127.0.0.1:0',
    '--admin-addr',
    '127.0.0.1:0',
    '--socket',
    socket,
    ...more,
  ]);
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
  await waitFor(async () => (await (await fetch(`${a.http}/v1/values/ml-service/model`)).text()) === 'gpt-5' || undefined, 5000);
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

test('a long-poll watch returns within milliseconds of a change, and at its timeout otherwise', async (t) => {
  const a = await startAgent(t);
  const started = performance.now();
  const idle = (await (await fetch(`${a.http}/v1/watch?index=1&wait=300ms`)).json()) as { index: number; changed: boolean };
  const idleMs = performance.now() - started;
  assert.deepEqual(idle, { index: 1, changed: false, changes: [] });
  assert.ok(idleMs >= 290 && idleMs < 2000, `timed out after ${idleMs}ms`);
  const pending = fetch(`${a.http}/v1/watch?index=1&wait=30s`).then(async (r) => ({ at: performance.now(), body: await r.json() }));
  await new Promise((r) => setTimeout(r, 100));
  const wroteAt = performance.now();
  await writeValue(a.url, 'ml-service', 'temperature', 0.5);
  const { at, body } = await pending;
  t.diagnostic(`watch returned ${Math.round(at - wroteAt)}ms after the central write`);
  assert.ok(at - wroteAt < 1000);
  assert.deepEqual(body, { index: 2, changed: true, changes: [{ type: 'put', namespace: 'ml-service', key: 'temperature' }] });
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
  await new Promise((r) => setTimeout(r, 100));
  const started = performance.now();
  a.agent.child.kill('SIGTERM');
  assert.deepEqual(await watch, { index: 1, changed: false, changes: [] });
  await events.text(); // the SSE stream is ended, not left hanging
  assert.equal(await a.agent.exitCode(), 0);
  assert.ok(performance.now() - started < 3000);
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
  const again = spawnCli(t, [
    'agent',
    '--central-url',
    a.url,
    '--namespaces',
    'ml-service',
    '--output-dir',
    join(a.dir, 'files'),
    '--cache-dir',
    join(a.dir, 'cache'),
    '--http-addr',
    '127.0.0.1:0',
    '--admin-addr',
    '127.0.0.1:0',
    '--socket',
    a.socket,
  ]);
  await again.waitForLog((l) => l.msg === 'agent started');
  const { stdout } = await run('curl', ['-sS', '--unix-socket', a.socket, 'http://agent/v1/values/ml-service/model']);
  assert.equal(stdout, 'gpt-4o-mini');
  const missing = new CliProcess([
    'agent',
    '--central-url',
    a.url,
    '--namespaces',
    'ml-service',
    '--output-dir',
    join(a.dir, 'f2'),
    '--cache-dir',
    join(a.dir, 'c2'),
    '--http-addr',
    '127.0.0.1:0',
    '--admin-addr',
    '127.0.0.1:0',
    '--socket',
    join(a.dir, 'nope', 'a.sock'),
  ]);
  assert.equal(await missing.exitCode(), 2);
  assert.match(
    missing.stderrText.at(-1)!,
    /^llm-config agent: --socket=.*nope\/a\.sock: a path in an existing directory \(.*nope does not exist\)$/,
  );
});
