// The local read API, one handler for loopback TCP and the Unix socket alike
// (SPEC §5). Value reads are served from pre-serialised answers; everything else is
// small JSON. The handler never reaches the central API: it only reads the store.

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalEnvironment, type Environment } from '../../src/environments.ts';
import type { HttpMetrics } from '../../src/metrics.ts';
import type { ConfigStore } from '../../src/sync/store.ts';
import type { WatchedFile } from '../../src/watched-file.ts';
import { AnswerCache, errorAnswer, jsonAnswer, type Answer, type ValueRoute } from './answers.ts';
import type { Watchers } from './watchers.ts';

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
        return { template: path, run: () => (method === 'GET' ? ctx.watchers.longPoll(new URLSearchParams(query), req) : readOnly()) };
      case '/v1/events':
        return {
          template: path,
          run: () => {
            if (method !== 'GET') return readOnly();
            ctx.watchers.events(req, res, { 'x-config-revision': String(ctx.store.view.revision) });
            return 'streaming';
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
      route =
        url.length > MAX_URL
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
