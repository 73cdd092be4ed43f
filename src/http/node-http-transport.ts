// HTTP/1.1 exchanges on Node's own client: its parser is the native llhttp inside the
// node binary. What per-pod processes use: undici's pool loads node:http2 at import and
// compiles llhttp to WebAssembly at the first connection, +13 MiB RSS per process
// (`node bench/module-cost.ts`, docs/sizing.md). node:https (TLS, +5 MiB) is loaded
// only for an https origin. Both through process.getBuiltinModule: an ES import of
// node:http would load Node's bundled undici (agent/listeners.ts says why).

import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import { ConnectionSlots } from './connection-slots.ts';
import type { Answer, Exchange, HttpTransport, TransportSettings } from './transport.ts';

/** A transport error with a stable code, like the library's own network errors. */
function transportError(code: TransportErrorCode, message: string): Error {
  return Object.assign(new Error(message), { code });
}

type TransportErrorCode = 'HEADERS_TIMEOUT' | 'BODY_TIMEOUT' | 'CONNECT_TIMEOUT' | 'NO_ANSWER' | 'TRANSPORT_CLOSED';

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
  const context: SendContext = {
    request: library.request,
    agent,
    target: { protocol: origin.protocol, hostname: origin.hostname.replace(/^\[(.*)\]$/, '$1'), port: origin.port || (secure ? 443 : 80) },
    connectTimeoutMs: settings.connectTimeoutMs,
    inFlight: new Set(),
    closed: false,
  };
  const slots = new ConnectionSlots(settings.connections);
  return {
    async exchange(exchange) {
      const release = await slots.acquire(exchange.signal);
      try {
        return await send(context, exchange, release);
      } catch (error) {
        // A kept-alive connection the server had closed (its FIN not yet seen when the socket
        // was handed out): one fresh attempt for a GET, which is idempotent (RFC 9112 §9.3.1).
        if (!(error as { staleConnection?: boolean }).staleConnection || exchange.method !== 'GET') throw error;
        return send(context, exchange, await slots.acquire(exchange.signal));
      }
    },
    async close() {
      const closed = transportError('TRANSPORT_CLOSED', 'the client was closed');
      context.closed = true;
      slots.close(closed);
      for (const req of context.inFlight) req.destroy(closed);
      agent.destroy();
    },
  };
}

type Target = { protocol: string; hostname: string; port: string | number };
type SendContext = {
  readonly request: (options: object) => ClientRequest;
  readonly agent: Agent;
  readonly target: Target;
  readonly connectTimeoutMs: number;
  /** Requests not yet answered, or answered with a body still being read: ended by close(). */
  readonly inFlight: Set<ClientRequest>;
  closed: boolean;
};

/** One request on a connection slot; `release` frees the slot once the exchange is over (no answer, or its body closed). */
function send(context: SendContext, exchange: Exchange, release: () => void): Promise<Answer> {
  const { signal } = exchange;
  if (signal?.aborted || context.closed) {
    release();
    return Promise.reject(signal?.aborted ? signal.reason : transportError('TRANSPORT_CLOSED', 'the client was closed'));
  }
  return new Promise((resolve, reject) => {
    const { request, agent, target, connectTimeoutMs, inFlight } = context;
    const req = request({ ...target, agent, method: exchange.method, path: exchange.path, headers: exchange.headers });
    inFlight.add(req);
    let response: IncomingMessage | undefined;
    // Before the headers the request carries the failure (the promise rejects); after, the body does.
    const fail = (error: unknown): void => {
      if (response) response.destroy(error as Error);
      else req.destroy(error as Error);
    };
    const onAbort = (): void => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const headersTimer = setTimeout(
      () => fail(transportError('HEADERS_TIMEOUT', `no response headers within ${exchange.headersTimeoutMs}ms`)),
      exchange.headersTimeoutMs,
    );
    const connectTimer = setTimeout(
      () => fail(transportError('CONNECT_TIMEOUT', `not connected within ${connectTimeoutMs}ms`)),
      connectTimeoutMs,
    );
    req.once('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    const settle = (): void => {
      clearTimeout(headersTimer);
      clearTimeout(connectTimer);
    };
    const unanswered = (error: Error): void => {
      settle();
      signal?.removeEventListener('abort', onAbort);
      inFlight.delete(req);
      release();
      reject(error);
    };
    // `on`, not `once`: a socket error after the response is reported here again (the body fails on its own).
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (response) return;
      const stale = req.reusedSocket && error.code === 'ECONNRESET' && !signal?.aborted && !context.closed;
      unanswered(stale ? Object.assign(error, { staleConnection: true }) : error);
    });
    // node:http closes a request with neither 'response' nor 'error' when it drops a 101 it did not ask for.
    req.once('close', () => {
      if (!response) unanswered(transportError('NO_ANSWER', 'the connection closed without an answer (an unrequested protocol switch?)'));
    });
    req.once('response', (res) => {
      settle();
      response = res;
      res.once('close', () => {
        signal?.removeEventListener('abort', onAbort);
        inFlight.delete(req);
        release();
      });
      // A body that fails before its reader attaches must not crash the process; readers still see the error.
      res.on('error', () => undefined);
      if (exchange.bodyTimeoutMs > 0) {
        res.setTimeout(exchange.bodyTimeoutMs, () => fail(transportError('BODY_TIMEOUT', `body silent for ${exchange.bodyTimeoutMs}ms`)));
      }
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.end(exchange.body);
  });
}
