// The transport contract (src/http/transport.ts), the same cases for both libraries: the
// per-pod one (Node's own client) and the relay's (undici). Hostile servers first: never
// answering, dripping, going silent mid-body, malformed answers, oversized headers,
// closing mid-body; then what must keep working (keep-alive reuse, TLS with a private CA).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createNodeHttpTransport } from '../../src/http/node-http-transport.ts';
import { discard, type HttpTransport, type TransportFactory, type TransportSettings } from '../../src/http/transport.ts';
import { createUndiciTransport } from '../../src/http/undici-transport.ts';
import { generateTlsMaterial } from '../../webhook/tls-material.ts';

type Context = { after(fn: () => unknown): void };

const SETTINGS: TransportSettings = { tls: { rejectUnauthorized: true }, connectTimeoutMs: 2000, connections: 2, keepAliveMs: 30_000 };
const GET = { method: 'GET', headersTimeoutMs: 2000, bodyTimeoutMs: 2000 } as const;

async function listen(t: Context, server: Server): Promise<URL> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    server.close();
  });
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

function httpServer(t: Context, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<URL> {
  return listen(t, createServer(handler));
}

/** A server that writes raw bytes: for answers no HTTP library would produce. */
function rawServer(t: Context, onRequest: (socket: Socket) => void): Promise<URL> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => onRequest(socket));
  });
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  return listen(t, server);
}

function transport(t: Context, factory: TransportFactory, origin: URL, settings = SETTINGS): HttpTransport {
  const created = factory(origin, settings);
  t.after(() => created.close());
  return created;
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function text(body: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of body) out += String(chunk);
  return out;
}

const LIBRARIES: Record<string, TransportFactory> = { 'node:http': createNodeHttpTransport, undici: createUndiciTransport };

for (const [library, factory] of Object.entries(LIBRARIES)) {
  test(`${library}: path, query, headers and a POST body arrive as sent; the answer's headers are lower case`, async (t) => {
    const origin = await httpServer(t, (req, res) => {
      let body = '';
      req
        .on('data', (c) => (body += c))
        .on('end', () => {
          res.setHeader(
            'X-Echo',
            JSON.stringify({
              url: req.url,
              method: req.method,
              te: req.headers['transfer-encoding'] ?? null,
              length: req.headers['content-length'] ?? null,
              custom: req.headers['x-custom'],
              body,
            }),
          );
          res.setHeader('Set-Cookie', ['a=1', 'b=2']);
          res.end('done');
        });
    });
    const http = transport(t, factory, origin);
    const answer = await http.exchange({
      ...GET,
      method: 'POST',
      path: '/api/v1/configs/team%2Fml?env=production',
      headers: { 'x-custom': 'v' },
      body: '{"revision":3}',
    });
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(JSON.parse(String(answer.headers['x-echo'])), {
      url: '/api/v1/configs/team%2Fml?env=production',
      method: 'POST',
      te: null,
      length: '14',
      custom: 'v',
      body: '{"revision":3}',
    });
    assert.deepEqual(answer.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(await text(answer.body), 'done');
  });

  test(`${library}: a server that never answers: HEADERS_TIMEOUT-like rejection within the bound`, async (t) => {
    const origin = await httpServer(t, () => undefined);
    const http = transport(t, factory, origin);
    await assert.rejects(http.exchange({ ...GET, path: '/', headers: {}, headersTimeoutMs: 100 }), (error: { code?: string }) => {
      assert.match(String(error.code), /HEADERS_TIMEOUT/);
      return true;
    });
  });

  test(`${library}: a body that goes silent fails after bodyTimeoutMs; a slow but steady one does not`, async (t) => {
    const origin = await httpServer(t, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      if (req.url === '/silent') return;
      let n = 0;
      const drip = setInterval(() => {
        res.write(`${n};`);
        if (++n === 5) {
          clearInterval(drip);
          res.end();
        }
      }, 40);
    });
    const http = transport(t, factory, origin);
    const silent = await http.exchange({ ...GET, path: '/silent', headers: {}, bodyTimeoutMs: 150 });
    await assert.rejects(text(silent.body), (error: { code?: string }) => {
      assert.match(String(error.code), /BODY_TIMEOUT/);
      return true;
    });
    const steady = await http.exchange({ ...GET, path: '/steady', headers: {}, bodyTimeoutMs: 150 });
    assert.equal(await text(steady.body), 'first;0;1;2;3;4;');
  });

  test(`${library}: bodyTimeoutMs 0 leaves a quiet stream open; the caller's signal ends it`, async (t) => {
    const origin = await httpServer(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
    });
    const http = transport(t, factory, origin);
    const abort = new AbortController();
    const stream = await http.exchange({ ...GET, path: '/watch', headers: {}, bodyTimeoutMs: 0, signal: abort.signal });
    const reading = text(stream.body);
    setTimeout(() => abort.abort(new Error('engine stopped')), 300);
    await assert.rejects(reading);
    assert.ok(stream.body.destroyed);
  });

  test(`${library}: abort before the answer rejects with the signal's reason; an aborted signal sends nothing`, async (t) => {
    let requests = 0;
    const origin = await httpServer(t, () => {
      requests++;
    });
    const http = transport(t, factory, origin);
    const abort = new AbortController();
    const pending = http.exchange({ ...GET, path: '/', headers: {}, signal: abort.signal });
    const reason = new Error('deadline');
    setTimeout(() => abort.abort(reason), 50);
    await assert.rejects(pending, (error) => error === reason);
    const before = requests;
    await assert.rejects(http.exchange({ ...GET, path: '/', headers: {}, signal: AbortSignal.abort(reason) }), (error) => error === reason);
    assert.equal(requests, before);
  });

  test(`${library}: connection refused is a coded network error`, async (t) => {
    const origin = await httpServer(t, () => undefined);
    const free = new URL(origin.href);
    const probe = createServer();
    free.port = String(
      await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port))),
    );
    await new Promise((resolve) => probe.close(resolve));
    const http = transport(t, factory, free);
    await assert.rejects(http.exchange({ ...GET, path: '/', headers: {} }), { code: 'ECONNREFUSED' });
  });

  test(`${library}: malformed status lines, oversized headers and a cut body fail; the process survives`, async (t) => {
    const origin = await rawServer(t, (socket) => {
      socket.end('HTTP/1.1 2OO NOPE\r\n\r\n');
    });
    const http = transport(t, factory, origin);
    await assert.rejects(http.exchange({ ...GET, path: '/', headers: {} }));

    const huge = await rawServer(t, (socket) => {
      socket.end(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(64 * 1024)}\r\ncontent-length: 2\r\n\r\nok`);
    });
    await assert.rejects(transport(t, factory, huge).exchange({ ...GET, path: '/', headers: {} }));

    const cut = await rawServer(t, (socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this');
    });
    const answer = await transport(t, factory, cut).exchange({ ...GET, path: '/', headers: {} });
    await assert.rejects(text(answer.body));
  });

  test(`${library}: a body failing before anyone reads it does not crash the process`, async (t) => {
    const origin = await rawServer(t, (socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npart');
      setTimeout(() => socket.destroy(), 20);
    });
    const answer = await transport(t, factory, origin).exchange({ ...GET, path: '/', headers: {} });
    await new Promise((resolve) => answer.body.once('close', resolve));
    await assert.rejects(text(answer.body));
  });

  test(`${library}: an unrequested 101 answer is refused within the bound, never left pending`, async (t) => {
    const origin = await rawServer(t, (socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\n');
    });
    const http = transport(t, factory, origin);
    const outcome = await Promise.race([
      http.exchange({ ...GET, path: '/', headers: {}, headersTimeoutMs: 300 }).then(
        () => 'answered',
        () => 'refused',
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('pending'), 5000).unref()),
    ]);
    assert.equal(outcome, 'refused');
  });

  test(`${library}: a server that closes after every answer without saying so: every GET still answers`, async (t) => {
    const origin = await rawServer(t, (socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]');
    });
    const http = transport(t, factory, origin, { ...SETTINGS, connections: 1 });
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      outcomes.push(
        await http.exchange({ ...GET, path: '/', headers: {} }).then(
          async (a) => `${a.statusCode} ${await text(a.body)}`,
          (e: { code?: string }) => String(e.code),
        ),
      );
    }
    assert.deepEqual(outcomes, Array(10).fill('200 []'));
  });

  test(`${library}: a body destroyed unread (a wrong content type) does not crash the process`, async (t) => {
    const origin = await httpServer(t, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      if (req.url === '/complete') res.end('<html>sign in</html>');
      else res.write('<html>');
    });
    const http = transport(t, factory, origin);
    for (const path of ['/complete', '/endless']) {
      const answer = await http.exchange({ ...GET, path, headers: {}, bodyTimeoutMs: 0 });
      answer.body.destroy();
      await new Promise((resolve) => answer.body.once('close', resolve));
      // node:test reports an unhandled 'error' event as this test's failure.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  test(`${library}: after close(), an exchange is refused, and one waiting for a connection ends`, async (t) => {
    const origin = await httpServer(t, () => undefined);
    const http = factory(origin, { ...SETTINGS, connections: 1 });
    const holding = http.exchange({ ...GET, path: '/a', headers: {}, headersTimeoutMs: 60_000 });
    const queued = http.exchange({ ...GET, path: '/b', headers: {}, headersTimeoutMs: 60_000 });
    holding.catch(() => undefined);
    queued.catch(() => undefined);
    await http.close();
    await assert.rejects(queued);
    await assert.rejects(holding);
    await assert.rejects(http.exchange({ ...GET, path: '/c', headers: {} }));
  });

  test(`${library}: an exchange waiting for a connection (a watch holds the only one) ends at once on abort`, async (t) => {
    const origin = await httpServer(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
    });
    const http = transport(t, factory, origin, { ...SETTINGS, connections: 1 });
    const watch = await http.exchange({ ...GET, path: '/watch', headers: {}, bodyTimeoutMs: 0 });
    watch.body.resume();
    const abort = new AbortController();
    const queued = http.exchange({ ...GET, path: '/list', headers: {}, signal: abort.signal, headersTimeoutMs: 60_000 });
    const reason = new Error('deadline');
    abort.abort(reason);
    await assert.rejects(queued, (error) => error === reason);
  });

  test(`${library}: close() opens no connection for a waiting exchange and leaves none open`, async (t) => {
    const sockets = new Set<Socket>();
    let accepted = 0;
    const server = createNetServer((socket) => {
      accepted++;
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
      socket.resume(); // reads (and drops) the request, so it sees the client's close
    });
    t.after(() => {
      for (const s of sockets) s.destroy();
    });
    const origin = await listen(t, server);
    const http = factory(origin, { ...SETTINGS, connections: 1 });
    const running = http.exchange({ ...GET, path: '/a', headers: {}, headersTimeoutMs: 60_000 });
    const waiting = http.exchange({ ...GET, path: '/b', headers: {}, headersTimeoutMs: 60_000 });
    running.catch(() => undefined);
    waiting.catch(() => undefined);
    while (accepted < 1) await new Promise((resolve) => setImmediate(resolve));
    await http.close();
    assert.deepEqual(
      (await Promise.allSettled([running, waiting])).map((r) => r.status),
      ['rejected', 'rejected'],
    );
    // Whatever the agent would open for the waiting request, it would do on the next turns.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(accepted, 1, 'no connection opened after close()');
    await waitUntil(() => sockets.size === 0);
  });

  test(`${library}: sequential exchanges reuse one kept-alive connection; discard() cuts a large body`, async (t) => {
    const peers = new Set<number>();
    const origin = await httpServer(t, (req, res) => {
      peers.add(req.socket.remotePort ?? 0);
      if (req.url === '/large') return void res.end('x'.repeat(1 << 20));
      res.end('small');
    });
    const http = transport(t, factory, origin, { ...SETTINGS, connections: 1 });
    for (let i = 0; i < 3; i++) {
      const answer = await http.exchange({ ...GET, path: '/', headers: {} });
      await discard(answer.body);
    }
    assert.equal(peers.size, 1, 'one connection for three exchanges');
    const large = await http.exchange({ ...GET, path: '/large', headers: {} });
    await discard(large.body, 64 * 1024);
    assert.ok(large.body.destroyed, 'cut, not read to the end');
  });

  test(`${library}: https with a private CA; an unknown CA is refused unless verification is off`, async (t) => {
    const material = await generateTlsMaterial({
      commonName: 'central',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
    });
    const server = createTlsServer({ cert: material.certPem, key: material.keyPem }, (_req, res) => res.end('secure'));
    const plain = await listen(t, server);
    const origin = new URL(plain.href.replace('http:', 'https:'));
    const trusted = transport(t, factory, origin, { ...SETTINGS, tls: { ca: material.caPem, rejectUnauthorized: true } });
    assert.equal(await text((await trusted.exchange({ ...GET, path: '/', headers: {} })).body), 'secure');
    const untrusted = transport(t, factory, origin);
    await assert.rejects(untrusted.exchange({ ...GET, path: '/', headers: {} }), (error: { code?: string }) => {
      assert.match(String(error.code), /SELF_SIGNED|UNABLE_TO|CERT/);
      return true;
    });
    const unverified = transport(t, factory, origin, { ...SETTINGS, tls: { rejectUnauthorized: false } });
    assert.equal(await text((await unverified.exchange({ ...GET, path: '/', headers: {} })).body), 'secure');
  });
}
