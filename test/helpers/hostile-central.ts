// A hostile central API (an HTTP double of the two routes the agent uses: the list
// and the watch stream), scripted per test: it answers whatever the test says —
// nothing, 429 with any Retry-After, a body dripped byte by byte, foreign or deeply
// nested entries, poisoned event ids, a stream that drips but never completes an
// event. Every request is recorded with its time.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export type HostileRequest = {
  readonly path: string;
  readonly namespace: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly at: number;
};
/** `central` is passed in so a behaviour can start drips before the test's own setup has returned. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, request: HostileRequest, central: HostileCentral) => void;

export const entry = (namespace: string, key: string, value: unknown, extra: Record<string, unknown> = {}) => ({
  id: `id-${namespace}-${key}`,
  namespace,
  key,
  value,
  environment: 'development',
  version: 1,
  metadata: {},
  ...extra,
});

/** A value nested `depth` levels deep, as JSON text (built without recursion). */
export const deepJson = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

export class HostileCentral {
  readonly requests: HostileRequest[] = [];
  behaviour: Behaviour = (_req, res) => void res.socket?.destroy();
  #server: Server | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const match = /^\/api\/v1\/configs\/([^/]+)$/.exec(url.pathname);
      const request = {
        path: url.pathname,
        namespace: match ? decodeURIComponent(match[1]!) : undefined,
        headers: req.headers,
        at: Date.now(),
      };
      this.requests.push(request);
      this.behaviour(req, res, request, this);
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A timer that dies with the server (drips). */
  every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.#timers.add(timer);
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#server?.closeAllConnections();
    this.#server?.close();
  }
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** 404 for the watch route (no stream: the agent polls), `lists[ns]` for the list route. */
export function listsOnly(lists: Record<string, unknown[] | string>): Behaviour {
  return (_req, res, request) => {
    if (request.namespace === undefined || !(request.namespace in lists)) return json(res, 404, { error: 'Not Found', message: 'no' });
    json(res, 200, lists[request.namespace]!);
  };
}
