// The local read API, one handler for loopback TCP and the Unix socket alike
// (SPEC §5). Value reads are served from pre-serialised answers; everything else is
// small JSON. The handler never reaches the central API: it only reads the store.

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalEnvironment, type Environment } from '../../src/environments.ts';
import type { HttpMetrics } from '../../src/metrics/http-metrics.ts';
import type { ConfigStore } from '../../src/store/config-store.ts';
import type { WatchedFile } from '../../src/credentials/watched-file.ts';
import { AnswerCache, errorAnswer, jsonAnswer, type Answer, type ValueRoute } from './answers.ts';
import type { Watchers } from './watchers.ts';
import { viaUnixSocket } from '../listeners.ts';
import { isLoopbackHost, isLoopbackOrigin, LOOPBACK_ACCEPTED } from './loopback.ts';

export type LocalApiContext = {
  readonly store: ConfigStore;
  readonly watchers: Watchers;
  readonly environment: Environment;
  readonly centralUrl: string;
  readonly status: () => Record<string, unknown>;
  /** ms since the last successful sync (Infinity when never). */
  readonly staleness: () => number;
  readonly staleAfterMs: number;
  readonly requireRequestHeader: boolean;
  readonly localToken: WatchedFile | undefined;
  readonly metrics: HttpMetrics;
  readonly requestShutdown: () => void;
};

const MAX_URL = 4096;
export const REQUEST_HEADER = 'x-llm-config-request';
/** Retry-After (seconds) on the 503 for a namespace not loaded yet. */
const NOT_LOADED_RETRY_AFTER_S = 2;

type Route = { template: string; run: () => Answer | Promise<Answer> | 'streaming' };

export function createLocalApi(ctx: LocalApiContext) {
  const cache = new AnswerCache();

  function valueRead(route: ValueRoute, req: IncomingMessage, segments: string[], query: string): Answer {
    if (ctx.requireRequestHeader && req.headers[REQUEST_HEADER] !== 'true') {
      return errorAnswer(
        403,
        'Forbidden',
        'value reads need the header "X-LLM-Config-Request: true" (SSRF guard, --require-request-header)',
      );
    }
    if (query !== '') {
      const env = new URLSearchParams(query).get('env');
      if (env !== null && env !== ctx.environment) {
        const canonical = canonicalEnvironment(env);
        if (canonical === undefined) return errorAnswer(400, 'Bad Request', `Unknown environment: ${env}`);
        if (canonical !== ctx.environment)
          return errorAnswer(404, 'Not Found', `this agent serves environment "${ctx.environment}", not "${canonical}"`);
      }
    }
    // SPEC §4 "Loaded means loaded": never `200 []` for a namespace that has no data yet.
    if (ctx.store.view.namespaces.has(segments[0]!) && !ctx.store.isLoaded(segments[0]!)) {
      return errorAnswer(
        503,
        'Service Unavailable',
        `namespace "${segments[0]}" is not loaded yet (no snapshot, no successful sync); retry shortly`,
      );
    }
    return cache.get(ctx.store.view, route, segments[0]!, segments[1]);
  }

  function match(req: IncomingMessage, res: ServerResponse, path: string, query: string): Route {
    const method = req.method ?? 'GET';
    const readable = method === 'GET' || method === 'HEAD';
    const configs = prefixed(path, '/api/v1/configs/', [1, 2]);
    if (configs) {
      const template = configs.length === 1 ? '/api/v1/configs/:ns' : '/api/v1/configs/:ns/:key';
      if (!readable) return { template, run: () => readOnly() };
      return { template, run: () => valueRead(configs.length === 1 ? 'namespace' : 'entry', req, configs, query) };
    }
    const values = prefixed(path, '/v1/values/', [2]);
    if (values) return { template: '/v1/values/:ns/:key', run: () => (readable ? valueRead('value', req, values, query) : readOnly()) };
    switch (path) {
      case '/v1/watch':
        // HEAD waits like GET (it is the same request); send() leaves the body out.
        return { template: path, run: () => (readable ? ctx.watchers.longPoll(new URLSearchParams(query), req) : readOnly()) };
      case '/v1/events':
        return {
          template: path,
          run: () => {
            if (!readable) return readOnly();
            return ctx.watchers.events(req, res, { 'x-config-revision': String(ctx.store.view.revision) });
          },
        };
      case '/v1/status':
        return { template: path, run: () => (readable ? jsonAnswer(200, ctx.status()) : readOnly()) };
      case '/v1/shutdown':
        return { template: path, run: () => shutdown(req) };
      default:
        return { template: 'other', run: () => errorAnswer(404, 'Not Found', `no route ${method} ${path}`) };
    }
  }

  function shutdown(req: IncomingMessage): Answer {
    if (req.method !== 'POST') return errorAnswer(405, 'Method Not Allowed', 'POST /v1/shutdown stops the agent');
    if (req.headers[REQUEST_HEADER] !== 'true')
      return errorAnswer(403, 'Forbidden', 'shutdown needs the header "X-LLM-Config-Request: true"');
    setImmediate(ctx.requestShutdown);
    return jsonAnswer(202, { status: 'shutting down' });
  }

  function readOnly(): Answer {
    return errorAnswer(405, 'Method Not Allowed', `the sidecar is read-only; write configuration to the central API at ${ctx.centralUrl}`);
  }

  function send(req: IncomingMessage, res: ServerResponse, answer: Answer): void {
    const headers: Record<string, string | number> = {
      'content-type': answer.contentType,
      'content-length': answer.body.length,
      'x-config-revision': ctx.store.view.revision,
    };
    if (answer.etag !== undefined) headers.etag = answer.etag;
    if (answer.status === 503) headers['retry-after'] = NOT_LOADED_RETRY_AFTER_S;
    if (answer.status === 200 && answer.etag !== undefined && ctx.staleness() > ctx.staleAfterMs) {
      headers.warning = '110 - "Response is Stale"';
      headers['x-config-stale'] = 'true';
    }
    if (answer.etag !== undefined && req.headers['if-none-match'] === answer.etag) {
      delete headers['content-length'];
      delete headers['content-type'];
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(answer.status, headers);
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  }

  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    let route: Route = { template: 'other', run: () => errorAnswer(500, 'Internal Server Error', 'unrouted') };
    let result: Answer | Promise<Answer> | 'streaming';
    try {
      const hosts = hostCount(req);
      const refused = viaUnixSocket(req) ? undefined : notLoopback(req, hosts);
      route =
        hosts > 1
          ? {
              template: 'other',
              run: () => errorAnswer(400, 'Bad Request', `${hosts} Host headers: a request carries exactly one (RFC 9112 §3.2)`),
            }
          : refused !== undefined
            ? { template: 'other', run: () => errorAnswer(403, 'Forbidden', refused) }
            : url.length > MAX_URL
              ? { template: 'other', run: () => errorAnswer(414, 'URI Too Long', `request URLs are limited to ${MAX_URL} bytes`) }
              : hasBody(req) && (req.method === 'GET' || req.method === 'HEAD')
                ? { template: 'other', run: () => errorAnswer(413, 'Content Too Large', 'this API takes no request body') }
                : !authorised(req, ctx.localToken)
                  ? { template: 'other', run: () => errorAnswer(401, 'Unauthorized', 'a bearer token from --local-token-file is required') }
                  : match(req, res, path, query);
      result = route.run();
    } catch (error) {
      result = errorAnswer(400, 'Bad Request', (error as Error).message);
    }
    if (result === 'streaming') return;
    const finish = (answer: Answer): void => {
      if (res.destroyed) return;
      send(req, res, answer);
      ctx.metrics.observe(route.template, answer.status, (performance.now() - started) / 1000);
    };
    if (result instanceof Promise) void result.then(finish);
    else finish(result);
  };
}

/** Path segments after `prefix`, percent-decoded, when their count is allowed. */
function prefixed(path: string, prefix: string, counts: number[]): string[] | undefined {
  if (!path.startsWith(prefix)) return undefined;
  const raw = path.slice(prefix.length).split('/');
  if (!counts.includes(raw.length) || raw.some((s) => s === '')) return undefined;
  return raw.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new Error(`"${segment}" is not valid percent-encoding`);
    }
  });
}

/**
 * DNS rebinding (SPEC §5): over loopback TCP, the Host must name a loopback host and an
 * Origin, when sent, must be a loopback origin. Returns why a request is refused.
 */
function notLoopback(req: IncomingMessage, hosts: number): string | undefined {
  const { host, origin } = req.headers;
  // Without a Host there is nothing to judge the rebinding rule on (an HTTP/1.0 request
  // can come from anywhere that reaches the port): refused, as a missing Host is not
  // something any current client sends. The Unix socket takes such requests.
  if (hosts === 0 || host === undefined) {
    return `a Host header is required over TCP: this API answers only Host ${LOOPBACK_ACCEPTED} (DNS rebinding guard); use the Unix socket for clients that send none`;
  }
  if (!isLoopbackHost(host)) {
    return `Host "${host.slice(0, 100)}" is not a loopback name: over TCP this API answers only Host ${LOOPBACK_ACCEPTED} (DNS rebinding guard); use the Unix socket for other names`;
  }
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return `Origin "${origin.slice(0, 100)}" is not a loopback origin: requests from web pages are refused unless they come from ${LOOPBACK_ACCEPTED} (DNS rebinding guard)`;
  }
  return undefined;
}

/** Host headers as sent: Node keeps only the first of several in `req.headers`. */
function hostCount(req: IncomingMessage): number {
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++;
  return count;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function authorised(req: IncomingMessage, token: WatchedFile | undefined): boolean {
  if (token === undefined) return true;
  const expected = token.current();
  const presented = req.headers.authorization;
  if (expected === undefined || presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(`Bearer ${expected}`);
  return a.length === b.length && timingSafeEqual(a, b);
}
