// HTTP/1.1 exchanges on Node's own client: its parser is the native llhttp inside the
// node binary. What per-pod processes use: undici's pool loads node:http2 at import and
// compiles llhttp to WebAssembly at the first connection, +13 MiB RSS per process
// (`node bench/module-cost.ts`, docs/sizing.md). node:https (TLS, +5 MiB) is loaded
// only for an https origin. Both through process.getBuiltinModule: an ES import of
// node:http would load Node's bundled undici (agent/listeners.ts says why).

import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { Answer, Exchange, HttpTransport, TransportSettings } from './transport.ts';

/** A transport error with a stable code, like the library's own network errors. */
function timeoutError(code: 'HEADERS_TIMEOUT' | 'BODY_TIMEOUT', message: string): Error {
  return Object.assign(new Error(message), { code });
}

export function createNodeHttpTransport(origin: URL, settings: TransportSettings): HttpTransport {
  const secure = origin.protocol === 'https:';
  const library = process.getBuiltinModule(secure ? 'node:https' : 'node:http');
  const { ca, cert, key, rejectUnauthorized } = settings.tls;
  const agent: Agent = new library.Agent({
    keepAlive: true,
    maxSockets: settings.connections,
    maxFreeSockets: settings.connections,
    // Idle kept-alive sockets close after this (sooner when the server's Keep-Alive hint says so).
    timeout: settings.keepAliveMs,
    ...(secure && { ca, cert, key, rejectUnauthorized }),
  });
  const target = {
    protocol: origin.protocol,
    hostname: origin.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: origin.port || (secure ? 443 : 80),
  };
  return {
    exchange: (exchange) => send(library.request, agent, target, exchange, settings.connectTimeoutMs),
    async close() {
      agent.destroy();
    },
  };
}

type Target = { protocol: string; hostname: string; port: string | number };
type RequestFunction = (options: object) => ClientRequest;

function send(request: RequestFunction, agent: Agent, target: Target, exchange: Exchange, connectTimeoutMs: number): Promise<Answer> {
  const { signal } = exchange;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const req = request({ ...target, agent, method: exchange.method, path: exchange.path, headers: exchange.headers });
    let response: IncomingMessage | undefined;
    // Before the headers the request carries the failure (the promise rejects); after, the body does.
    const fail = (error: unknown): void => {
      if (response) response.destroy(error as Error);
      else req.destroy(error as Error);
    };
    const onAbort = (): void => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const headersTimer = setTimeout(
      () => fail(timeoutError('HEADERS_TIMEOUT', `no response headers within ${exchange.headersTimeoutMs}ms`)),
      exchange.headersTimeoutMs,
    );
    const connectTimer = setTimeout(
      () => fail(timeoutError('HEADERS_TIMEOUT', `not connected within ${connectTimeoutMs}ms`)),
      connectTimeoutMs,
    );
    req.once('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once(isSecure(target) ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    const settle = (): void => {
      clearTimeout(headersTimer);
      clearTimeout(connectTimer);
    };
    // `on`, not `once`: a socket error after the response is reported here again (the body fails on its own).
    req.on('error', (error) => {
      settle();
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    req.once('response', (res) => {
      settle();
      response = res;
      res.once('close', () => signal?.removeEventListener('abort', onAbort));
      // A body that fails before its reader attaches must not crash the process; readers still see the error.
      res.on('error', () => undefined);
      if (exchange.bodyTimeoutMs > 0) {
        res.setTimeout(exchange.bodyTimeoutMs, () => fail(timeoutError('BODY_TIMEOUT', `body silent for ${exchange.bodyTimeoutMs}ms`)));
      }
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.end(exchange.body);
  });
}

function isSecure(target: Target): boolean {
  return target.protocol === 'https:';
}
