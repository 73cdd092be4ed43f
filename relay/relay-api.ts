// What agents talk to: the dev-server's read routes, byte for byte (shared protocol
// module), served from the relay's slots. Every read is authenticated and authorized
// before it can make the relay sync anything; writes are refused with 405 naming
// upstream. Answers are serialised once per slot revision.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiErrorBody, etagOfJson, HEALTH_BODY, parseLastEventId, watchNamespaces } from '../src/central-api-server/protocol.ts';
import { canonicalEnvironment, type Environment } from '../src/environments.ts';
import type { HttpMetrics } from '../src/metrics/http-metrics.ts';
import { isNamespaceName } from '../src/options/parsers.ts';
import type { AccessControl, Reader } from './access-control.ts';
import type { FleetView } from './fleet-view.ts';
import type { NamespaceSlots, Slot } from './namespace-slots.ts';
import type { RelayMetrics } from './relay-metrics.ts';
import type { WatchStreams } from './watch-streams.ts';

export type RelayApiContext = {
  readonly slots: NamespaceSlots;
  readonly access: AccessControl;
  readonly watches: WatchStreams;
  readonly fleet: FleetView;
  readonly upstream: string;
  readonly metrics: RelayMetrics;
  readonly http: HttpMetrics;
};

type Answer = { readonly body: string; readonly etag: string };
type Reply = { status: number; body?: string; headers?: Record<string, string> };

const NAME_RULE = 'letters, digits, ".", "_", "-", levels joined by "/", at most 253 characters';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body: JSON.stringify(body), headers };
}
function error(status: number, message: string, headers: Record<string, string> = {}): Reply {
  return json(status, apiErrorBody(status, message), headers);
}

export function createRelayApi(ctx: RelayApiContext) {
  const answers = new WeakMap<Slot, { revision: number; list?: Answer; entries: Map<string, Answer | null> }>();
  const readOnly = (): Reply =>
    error(405, `the relay is read-only: send writes to the central API at ${ctx.upstream}`, { allow: 'GET, HEAD' });

  function cached(slot: Slot) {
    let cache = answers.get(slot);
    if (cache === undefined || cache.revision !== slot.revision)
      answers.set(slot, (cache = { revision: slot.revision, entries: new Map() }));
    return cache;
  }

  function listAnswer(slot: Slot): Answer {
    const cache = cached(slot);
    if (cache.list === undefined) {
      const body = JSON.stringify([...slot.data.values()]);
      cache.list = { body, etag: etagOfJson(body) };
    }
    return cache.list;
  }

  function entryAnswer(slot: Slot, key: string): Answer | null {
    const cache = cached(slot);
    let answer = cache.entries.get(key);
    if (answer === undefined) {
      const entry = slot.data.get(key);
      const body = entry === undefined ? undefined : JSON.stringify(entry);
      answer = body === undefined ? null : { body, etag: etagOfJson(body) };
      if (cache.entries.size < 10_000) cache.entries.set(key, answer);
    }
    return answer;
  }

  /** Common steps of every read: names, environment, access, the slots (synced on demand) and their first data. */
  async function prepare(
    req: IncomingMessage,
    namespaces: readonly string[],
    envParam: string,
  ): Promise<{ reply: Reply } | { environment: Environment; slots: Slot[]; reader: Reader }> {
    const bad = namespaces.find((ns) => !isNamespaceName(ns));
    if (bad !== undefined) return { reply: error(400, `"${bad}" is not a namespace name (${NAME_RULE})`) };
    const environment = canonicalEnvironment(envParam);
    if (!environment) return { reply: error(400, `Unknown environment: ${envParam}`) };
    const verdict = await ctx.access.check(req, namespaces);
    if (!verdict.ok) {
      if (verdict.status !== 503) ctx.metrics.denied.inc({ code: String(verdict.status) });
      const headers: Record<string, string> =
        verdict.status === 401
          ? { 'www-authenticate': 'Bearer' }
          : verdict.status === 503
            ? { 'retry-after': String(verdict.retryAfterSeconds ?? 5) }
            : {};
      return { reply: error(verdict.status, verdict.message, headers) };
    }
    const slots: Slot[] = [];
    const { reader } = verdict;
    const owner = reader.serviceAccount === undefined ? reader.id : `${reader.namespace}/${reader.serviceAccount}`;
    for (const namespace of namespaces) {
      const slot = ctx.slots.demandBy(environment, namespace, owner);
      if (slot === 'full')
        return { reply: error(503, `the relay already syncs its maximum of namespaces (--max-namespaces)`, { 'retry-after': '60' }) };
      if (slot === 'client-cap') {
        ctx.metrics.denied.inc({ code: '429' });
        const message = `${owner} already made the relay sync its maximum of namespaces nobody else reads (--max-namespaces-per-client); "${namespace}" is not synced`;
        return { reply: error(429, message, { 'retry-after': '60' }) };
      }
      slots.push(slot);
    }
    const ready = await Promise.all(slots.map((s) => ctx.slots.ready(s)));
    const cold = slots.find((_, i) => !ready[i]);
    if (cold !== undefined) {
      const why = cold.lastError ?? 'no answer yet';
      return {
        reply: error(503, `namespace "${cold.namespace}" (${environment}) is not loaded from upstream yet: ${why}`, { 'retry-after': '5' }),
      };
    }
    return { environment, slots, reader: verdict.reader };
  }

  function staleHeaders(slot: Slot): Record<string, string> {
    return ctx.slots.isStale(slot) ? { warning: '110 - "Response is Stale"', 'x-config-stale': 'true' } : {};
  }

  async function read(req: IncomingMessage, namespace: string, key: string | undefined, envParam: string): Promise<Reply> {
    const prepared = await prepare(req, [namespace], envParam);
    if ('reply' in prepared) return prepared.reply;
    const slot = prepared.slots[0]!;
    ctx.fleet.sent(prepared.reader, slot, slot.revision);
    const answer = key === undefined ? listAnswer(slot) : entryAnswer(slot, key);
    if (answer === null) return error(404, `Configuration not found: ${namespace}:${key}`, staleHeaders(slot));
    if (req.headers['if-none-match'] === answer.etag) return { status: 304, headers: { etag: answer.etag, ...staleHeaders(slot) } };
    return { status: 200, body: answer.body, headers: { etag: answer.etag, ...staleHeaders(slot) } };
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Reply | 'streaming'> {
    const method = req.method ?? 'GET';
    const readable = method === 'GET' || method === 'HEAD';
    if (url.pathname === '/health') return readable ? json(200, HEALTH_BODY) : { status: 405 };
    const segments = url.pathname.split('/').slice(1);
    if (segments[0] !== 'api' || segments[1] !== 'v1') return { status: 404 };
    const envParam = url.searchParams.get('env') ?? 'development';
    if (segments[2] === 'watch' && segments.length === 3) {
      if (method !== 'GET') return readOnly();
      const namespaces = watchNamespaces(url);
      if (namespaces.length === 0) return error(400, 'name the namespaces to watch: ?namespaces=a,b&env=E');
      const prepared = await prepare(req, namespaces, envParam);
      if ('reply' in prepared) return prepared.reply;
      if (res.destroyed) return 'streaming';
      ctx.watches.open(req, res, prepared.reader, prepared.environment, prepared.slots, parseLastEventId(req.headers['last-event-id']));
      return 'streaming';
    }
    if (segments[2] !== 'configs' || segments.length < 4 || segments.length > 7) return { status: 404 };
    let parts: string[];
    try {
      parts = segments.slice(3).map(decodeURIComponent);
    } catch {
      return error(400, 'the path is not valid percent-encoding');
    }
    const [namespace, key, action] = parts;
    if (!namespace) return { status: 404 };
    if (!readable || action === 'rollback') return readOnly();
    if (action !== undefined)
      return error(404, `the relay serves lists and entries only; ask the central API at ${ctx.upstream} for history`);
    return read(req, namespace, key, envParam);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://relay');
    let reply: Reply | 'streaming';
    try {
      reply = await route(req, res, url);
    } catch {
      reply = error(500, 'internal error');
    }
    const template = url.pathname.startsWith('/api/v1/watch')
      ? '/api/v1/watch'
      : url.pathname.startsWith('/api/v1/configs')
        ? '/api/v1/configs'
        : 'other';
    if (reply === 'streaming') {
      ctx.http.observe(template, 200, (performance.now() - started) / 1000);
      return;
    }
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body !== undefined) headers['content-type'] = 'application/json';
    res.writeHead(reply.status, headers).end(reply.body ?? '');
    ctx.http.observe(template, reply.status, (performance.now() - started) / 1000);
  };
}
