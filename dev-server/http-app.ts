// Request handling of the reference central API: upstream's routes and JSON shapes,
// plus (unless strict) ETag/304 and the watch stream. In strict mode it answers like
// upstream does, plain-text framework errors and empty 404/405 bodies included.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalEnvironment } from '../src/environments.ts';
import { MAX_VALUE_DEPTH, nestedDeeperThan } from '../src/central/entry.ts';
import type { Logger } from '../src/logger.ts';
import type { DevStore } from './dev-store.ts';
import { UpstreamQuirks } from './upstream-quirks.ts';
import { serveWatch } from './watch-stream.ts';
import { apiErrorBody, etagOfJson, HEALTH_BODY, watchNamespaces } from '../src/central-api-server/protocol.ts';

export type DevServerSettings = {
  readonly strict: boolean;
  readonly tokens: readonly string[];
  readonly pingIntervalMs: number;
  readonly logger: Logger;
  /** Called after every write (persistence). */
  readonly onWrite?: () => void;
};

const MAX_BODY = 2 * 1024 * 1024;

type Reply = { status: number; body?: unknown; text?: string; headers?: Record<string, string> };
const json = (status: number, body: unknown): Reply => ({ status, body });
const apiError = (status: number, message: string): Reply => json(status, apiErrorBody(status, message));

export function createDevServerHandler(store: DevStore, settings: DevServerSettings) {
  const quirks = new UpstreamQuirks();

  async function route(req: IncomingMessage, res: ServerResponse, url: URL, token: number | undefined | false): Promise<Reply | undefined> {
    const segments = url.pathname.split('/').slice(1);
    if (url.pathname === '/health' && req.method === 'GET') {
      return json(200, HEALTH_BODY);
    }
    if (segments[0] !== 'api' || segments[1] !== 'v1') return { status: 404 };
    if (settings.strict) {
      const verdict = quirks.check(req.socket.remoteAddress ?? '', req.url ?? '', req.headers);
      if (!verdict.ok) return { status: verdict.status, text: verdict.body };
    }
    if (token === false) return apiError(401, 'missing or unknown bearer token');
    const envParam = url.searchParams.get('env') ?? 'development';
    if (segments[2] === 'watch' && segments.length === 3 && !settings.strict) {
      if (req.method !== 'GET') return { status: 405 };
      const environment = canonicalEnvironment(envParam);
      if (!environment) return apiError(400, `Unknown environment: ${envParam}`);
      const namespaces = watchNamespaces(url);
      serveWatch(req, res, store, { environment, namespaces, pingIntervalMs: settings.pingIntervalMs });
      return undefined;
    }
    if (segments[2] !== 'configs' || segments.length < 4 || segments.length > 7) return { status: 404 };
    const [namespace, key, action, version] = segments.slice(3).map(decodeURIComponent);
    if (!namespace) return { status: 404 };
    if (action !== undefined) return routeKeyAction(req, namespace, key!, action, version, envParam);
    if (key === undefined) {
      if (req.method !== 'GET') return { status: 405 };
      const environment = canonicalEnvironment(envParam);
      if (!environment) return apiError(400, `Unknown environment: ${envParam}`);
      return withEtag(req, json(200, store.list(environment, namespace)), settings.strict);
    }
    return routeKey(req, namespace, key, envParam);
  }

  async function routeKey(req: IncomingMessage, namespace: string, key: string, envParam: string): Promise<Reply> {
    if (req.method === 'POST') return writeKey(req, namespace, key);
    const environment = canonicalEnvironment(envParam);
    if (req.method === 'GET') {
      if (!environment) return apiError(400, `Unknown environment: ${envParam}`);
      const entry = store.get(environment, namespace, key);
      return entry ? withEtag(req, json(200, entry), settings.strict) : apiError(404, `Configuration not found: ${namespace}:${key}`);
    }
    if (req.method === 'DELETE') {
      if (!environment) return apiError(400, `Unknown environment: ${envParam}`);
      if (!store.delete(environment, namespace, key)) return apiError(404, `Configuration not found: ${namespace}:${key}`);
      settings.onWrite?.();
      return { status: 204 };
    }
    return { status: 405 };
  }

  function routeKeyAction(
    req: IncomingMessage,
    namespace: string,
    key: string,
    action: string,
    version: string | undefined,
    envParam: string,
  ): Reply {
    const environment = canonicalEnvironment(envParam);
    if (action === 'history' && version === undefined) {
      if (req.method !== 'GET') return { status: 405 };
      return environment ? json(200, store.history(environment, namespace, key)) : apiError(400, `Unknown environment: ${envParam}`);
    }
    if (action === 'rollback' && version !== undefined) {
      if (req.method !== 'POST') return { status: 405 };
      if (!environment) return apiError(400, `Unknown environment: ${envParam}`);
      if (!/^\d+$/.test(version)) return { status: 400, text: 'Invalid URL: Cannot parse `version` to a `u64`' };
      const entry = store.rollback(environment, namespace, key, Number(version), 'system');
      if (!entry) return apiError(404, `Configuration not found: ${namespace}:${key} version ${version}`);
      settings.onWrite?.();
      return json(200, entry);
    }
    return { status: 404 };
  }

  async function writeKey(req: IncomingMessage, namespace: string, key: string): Promise<Reply> {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return { status: 415, text: 'Expected request with `Content-Type: application/json`' };
    }
    const raw = await readBody(req);
    if (raw === undefined) return { status: 413, text: 'Failed to buffer the request body: length limit exceeded' };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch (error) {
      return { status: 400, text: `Failed to parse the request body as JSON: ${(error as Error).message}` };
    }
    if (typeof body !== 'object' || body === null || !('value' in body) || typeof body.env !== 'string') {
      return { status: 422, text: 'Failed to deserialize the JSON body into the target type: missing field `value` or `env`' };
    }
    const environment = canonicalEnvironment(body.env);
    if (!environment) return apiError(400, `Unknown environment: ${body.env}`);
    if (body.secret === true && typeof body.value !== 'string') return apiError(400, 'Secret values must be strings');
    // Refused at the door: nothing deeper than the agents accept, and no recursion over it later (JSON.stringify).
    if (nestedDeeperThan(body.value, MAX_VALUE_DEPTH)) {
      return apiError(400, `value nested deeper than ${MAX_VALUE_DEPTH} levels (the most accepted)`);
    }
    const user = typeof body.user === 'string' ? body.user : 'system';
    const entry = store.set(environment, namespace, key, body.value, user);
    settings.onWrite?.();
    return json(200, body.secret === true ? { ...entry, value: '<encrypted>' } : entry);
  }

  return {
    quirks,
    async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const started = performance.now();
      const url = new URL(req.url ?? '/', 'http://dev-server');
      const token = authorise(req, settings.tokens);
      let reply: Reply | undefined;
      try {
        reply = await route(req, res, url, token);
      } catch (error) {
        settings.logger.error({ err: (error as Error).message }, 'request failed');
        reply = apiError(500, 'internal error');
      }
      if (reply === undefined) return; // streaming answer already under way
      send(res, reply);
      settings.logger.debug(
        { method: req.method, path: url.pathname, status: reply.status, tokenIndex: token, ms: +(performance.now() - started).toFixed(3) },
        'request',
      );
    },
  };
}

/** Index (1-based) of the bearer token used, undefined when auth is off, false when refused. */
function authorise(req: IncomingMessage, tokens: readonly string[]): number | undefined | false {
  if (tokens.length === 0) return undefined;
  const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (presented === undefined) return false;
  const digest = createHash('sha256').update(presented).digest();
  const index = tokens.findIndex((t) => timingSafeEqual(createHash('sha256').update(t).digest(), digest));
  return index === -1 ? false : index + 1;
}

/** ETag and If-None-Match ⇒ 304; upstream (strict) has no conditional reads. */
function withEtag(req: IncomingMessage, reply: Reply, strict: boolean): Reply {
  if (strict) return reply;
  const etag = etagOfJson(JSON.stringify(reply.body));
  if (req.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
  return { ...reply, headers: { ...reply.headers, etag } };
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  let payload = '';
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json';
  } else if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] = 'text/plain; charset=utf-8';
  }
  res.writeHead(reply.status, headers).end(payload);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
