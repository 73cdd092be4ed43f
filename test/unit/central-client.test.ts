import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CentralClient, parseRetryAfterMs, summariseErrorBody } from '../../src/central/client.ts';
import { WatchedFile } from '../../src/credentials/watched-file.ts';
import { tempDir } from '../helpers/cli-process.ts';
import { testLogger } from '../helpers/test-logger.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function server(t: { after: (fn: () => void) => void }, handler: Handler): Promise<{ url: URL; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const s = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  }).listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.after(() => {
    s.closeAllConnections();
    s.close();
  });
  return { url: new URL(`http://127.0.0.1:${(s.address() as AddressInfo).port}/prefix/`), requests };
}

function client(url: URL, extra: Partial<ConstructorParameters<typeof CentralClient>[0]> = {}): CentralClient {
  return new CentralClient({
    baseUrl: url,
    environment: 'production',
    headers: [['X-Forwarded-Proto', 'https']],
    tls: { rejectUnauthorized: true },
    requestTimeoutMs: 2000,
    maxBodyBytes: 1024,
    userAgent: 'test',
    ...extra,
  });
}

const entry = { id: 'i', namespace: 'team/ml', key: 'k', value: 1, environment: 'production', version: 1, metadata: {} };

test('list: %2F in the namespace, one query parameter, extra headers, ETag round trip', async (t) => {
  const { url, requests } = await server(t, (req, res) => {
    if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304).end();
    res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' }).end(JSON.stringify([entry]));
  });
  const c = client(url);
  t.after(() => c.close());
  const first = await c.listNamespace('team/ml');
  assert.deepEqual(first, { kind: 'entries', entries: [entry], refused: [], etag: '"v1"' });
  assert.deepEqual(await c.listNamespace('team/ml', '"v1"'), { kind: 'not-modified' });
  assert.equal(requests[0]!.url, '/prefix/api/v1/configs/team%2Fml?env=production');
  assert.equal(requests[0]!.headers['x-forwarded-proto'], 'https');
  assert.equal(requests[0]!.headers['user-agent'], 'test');
});

test('errors: plain-text and empty bodies, 429 with and without Retry-After, oversized and non-JSON bodies', async (t) => {
  const answers: Array<[number, Record<string, string>, string]> = [
    [429, {}, 'Rate limit exceeded. Please try again later'],
    [429, { 'retry-after': '7' }, ''],
    [426, { 'content-type': 'text/plain' }, 'Insecure protocol: TLS is required'],
    [404, {}, ''],
    [500, { 'content-type': 'application/json' }, '{"error":"Internal Server Error","message":"storage failed"}'],
    [200, { 'content-type': 'application/json' }, 'x'.repeat(2000)],
    [200, { 'content-type': 'text/html' }, '<html>proxy login</html>'],
  ];
  let i = 0;
  const { url } = await server(t, (_req, res) => {
    const [status, headers, body] = answers[i++]!;
    res.writeHead(status, headers).end(body);
  });
  const c = client(url);
  t.after(() => c.close());
  const codes: Array<[string | undefined, string]> = [];
  for (let n = 0; n < answers.length; n++) {
    const error = await c.listNamespace('ns').then(
      () => undefined,
      (e: { code?: string; message: string; retryAfterMs?: number }) => e,
    );
    codes.push([error?.code, `${error?.message}${error?.retryAfterMs ? ` retry=${error.retryAfterMs}` : ''}`]);
  }
  assert.deepEqual(codes, [
    ['LLMC_ERR_CENTRAL_RATE_LIMITED', 'central API answered 429: Rate limit exceeded. Please try again later'],
    ['LLMC_ERR_CENTRAL_RATE_LIMITED', 'central API answered 429 retry=7000'],
    ['LLMC_ERR_CENTRAL_HTTP', 'central API answered 426: Insecure protocol: TLS is required'],
    ['LLMC_ERR_CENTRAL_HTTP', 'central API answered 404'],
    ['LLMC_ERR_CENTRAL_HTTP', 'central API answered 500: storage failed'],
    ['LLMC_ERR_CENTRAL_PROTOCOL', 'list of ns: body larger than 1024 bytes'],
    ['LLMC_ERR_CENTRAL_PROTOCOL', 'list of ns: the body is not JSON'],
  ]);
});

test('connection refused is CentralUnreachableError', async () => {
  const c = client(new URL('http://127.0.0.1:1/'));
  await assert.rejects(c.listNamespace('ns'), (e: { code?: string }) => e.code === 'LLMC_ERR_CENTRAL_UNREACHABLE');
  await c.close();
});

test('watch: 404/405/400/501 mean "no stream"; a 200 that is not SSE is a protocol error', async (t) => {
  const statuses = [404, 405, 400, 501, 200];
  let i = 0;
  const { url, requests } = await server(
    t,
    (_req, res) => void res.writeHead(statuses[i++]!, { 'content-type': 'application/json' }).end('[]'),
  );
  const c = client(url);
  t.after(() => c.close());
  const signal = new AbortController().signal;
  for (let n = 0; n < 4; n++) {
    await assert.rejects(c.openWatch(['a', 'b/c'], '9', signal), (e: { code?: string }) => e.code === 'LLMC_ERR_STREAM_UNSUPPORTED');
  }
  await assert.rejects(c.openWatch(['a'], undefined, signal), (e: { code?: string }) => e.code === 'LLMC_ERR_CENTRAL_PROTOCOL');
  assert.equal(requests[0]!.url, '/prefix/api/v1/watch?namespaces=a,b%2Fc&env=production');
  assert.equal(requests[0]!.headers['last-event-id'], '9');
});

test('bearer token from a file; a 401 re-reads the file once and retries', async (t) => {
  const dir = await tempDir(t);
  const tokenPath = join(dir, 'token');
  await writeFile(tokenPath, 'old-token\n');
  const { url, requests } = await server(t, (req, res) => {
    if (req.headers.authorization !== 'Bearer new-token') return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
  });
  const token = new WatchedFile(tokenPath, { logger: testLogger().logger });
  assert.equal(await token.read(), 'old-token');
  await writeFile(tokenPath, 'new-token\n');
  const c = client(url, { token });
  t.after(() => c.close());
  assert.deepEqual(await c.listNamespace('ns'), { kind: 'entries', entries: [], refused: [], etag: undefined });
  assert.deepEqual(
    requests.map((r) => r.headers.authorization),
    ['Bearer old-token', 'Bearer new-token'],
  );
});

test('helpers: Retry-After forms, error body summaries never longer than one short line', () => {
  assert.equal(parseRetryAfterMs('3'), 3000);
  assert.equal(parseRetryAfterMs('999999'), 3_600_000);
  assert.equal(parseRetryAfterMs(undefined), undefined);
  assert.equal(parseRetryAfterMs('soon'), undefined);
  assert.ok((parseRetryAfterMs(new Date(Date.now() + 5000).toUTCString()) ?? 0) > 3000);
  assert.equal(summariseErrorBody('line1\nline2\u0000'), 'line1 line2');
  assert.equal(summariseErrorBody('y'.repeat(500)).length, 200);
});

test('issue 11 #4: a body dripping one byte at a time cannot outlast --request-timeout', { timeout: 20_000 }, async (t) => {
  const drips: NodeJS.Timeout[] = [];
  const { url } = await server(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('[');
    drips.push(setInterval(() => res.write(' '), 50));
  });
  t.after(() => drips.forEach(clearInterval));
  const c = client(url, { requestTimeoutMs: 300 });
  t.after(() => c.close());
  await assert.rejects(c.listNamespace('ns'), (e: { code?: string; message: string }) => {
    assert.equal(e.code, 'LLMC_ERR_CENTRAL_UNREACHABLE');
    assert.match(e.message, /no complete answer within 300ms/);
    return true;
  });
});

test('issue 11 #3: Retry-After of 0, -1, 5.5, garbage and past dates parse to nothing below zero', () => {
  assert.equal(parseRetryAfterMs('0'), 0);
  assert.equal(parseRetryAfterMs('5.5'), 5500);
  assert.equal(parseRetryAfterMs('-1'), undefined);
  assert.equal(parseRetryAfterMs('1e9'), undefined);
  assert.equal(parseRetryAfterMs(''), undefined);
  assert.equal(parseRetryAfterMs('Thu, 01 Jan 1970 00:00:00 GMT'), 0);
});

test('a status that is neither 2xx nor 304 is never taken as an answer: 000 is a protocol error, 302 an HTTP error', async (t) => {
  const { createServer: createNetServer } = await import('node:net');
  const raw = createNetServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (chunk) => {
      const status = String(chunk).includes('/redirect') ? '302 Found\r\nlocation: /elsewhere' : '000 Nothing';
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]`);
    });
  }).listen(0, '127.0.0.1');
  await once(raw, 'listening');
  t.after(() => raw.close());
  const base = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
  const c = client(new URL(`${base}/`));
  t.after(() => c.close());
  await assert.rejects(c.listNamespace('ns'), { code: 'LLMC_ERR_CENTRAL_PROTOCOL' });
  const redirected = client(new URL(`${base}/redirect/`));
  t.after(() => redirected.close());
  await assert.rejects(redirected.listNamespace('ns'), { code: 'LLMC_ERR_CENTRAL_HTTP', status: 302 });
});
