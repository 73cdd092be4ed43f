// Client for the central API (upstream llm-config-server, or anything compatible).
// Upstream quirks it respects: one query parameter, `/` in a namespace sent as %2F,
// error bodies that may be plain text or empty, 429 without Retry-After, extra
// headers such as X-Forwarded-Proto that its middleware demands.

import type { Readable } from 'node:stream';
import { createNodeHttpTransport } from '../http/node-http-transport.ts';
import { type Answer, discard, type HttpTransport, type TlsSettings, type TransportFactory } from '../http/transport.ts';
import {
  CentralHttpError,
  CentralProtocolError,
  CentralRateLimitedError,
  CentralUnreachableError,
  LlmConfigError,
  StreamUnsupportedError,
} from '../errors.ts';
import type { Environment } from '../environments.ts';
import type { Header } from '../options/parsers.ts';
import type { WatchedFile } from '../credentials/watched-file.ts';
import { parseEntryAnswer, type Entry, type Refusal } from './entry.ts';

export type CentralClientOptions = {
  readonly baseUrl: URL;
  readonly environment: Environment;
  readonly headers: readonly Header[];
  readonly token?: WatchedFile | undefined;
  readonly tls: TlsSettings;
  readonly requestTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly userAgent: string;
  /** Awaited right before each request is handed to the connection pool (the relay's upstream budget). */
  readonly beforeSend?: (signal: AbortSignal | undefined) => Promise<void>;
  /** The HTTP library; Node's own client unless the program picks another (the relay: undici). */
  readonly transport?: TransportFactory;
};

const WATCH_UNSUPPORTED = new Set([400, 404, 405, 501]);

export type ListResult =
  | { readonly kind: 'entries'; readonly entries: Entry[]; readonly etag: string | undefined; readonly refused: readonly Refusal[] }
  | { readonly kind: 'not-modified' };

export class CentralClient {
  readonly #options: CentralClientOptions;
  readonly #transport: HttpTransport;
  readonly #basePath: string;

  constructor(options: CentralClientOptions) {
    this.#options = options;
    const createTransport = options.transport ?? createNodeHttpTransport;
    this.#transport = createTransport(options.baseUrl, {
      tls: options.tls,
      connectTimeoutMs: options.requestTimeoutMs,
      keepAliveMs: 30_000,
      connections: 4,
    });
    this.#basePath = options.baseUrl.pathname.replace(/\/+$/, '');
  }

  /**
   * GET /api/v1/configs/{ns}?env=E, conditional when an ETag is known. `environment`
   * defaults to the client's own (a relay asks for several). --request-timeout bounds
   * the whole exchange, headers and body: a server dripping bytes cannot stall a poll.
   */
  async listNamespace(
    namespace: string,
    etag?: string,
    signal?: AbortSignal,
    environment = this.#options.environment,
  ): Promise<ListResult> {
    const path = `${this.#basePath}/api/v1/configs/${encodeURIComponent(namespace)}?env=${environment}`;
    const deadline = this.#deadline(signal);
    try {
      const headers = { accept: 'application/json', ...(etag ? { 'if-none-match': etag } : {}) };
      const response = await this.#request(path, headers, deadline.signal);
      if (response.statusCode === 304) {
        await discard(response.body);
        return { kind: 'not-modified' };
      }
      const body = await this.#readJson(response, `list of ${namespace}`);
      const { entries, refused } = parseEntryAnswer(body, `list of ${namespace}`);
      const received = response.headers.etag;
      return { kind: 'entries', entries, refused, etag: typeof received === 'string' ? received : undefined };
    } catch (error) {
      throw deadline.explain(error);
    } finally {
      deadline.done();
    }
  }

  /**
   * Opens GET /api/v1/watch (SSE). Resolves with the body stream once the server
   * answered 200 text/event-stream; otherwise rejects with a coded error. The
   * request timeout covers the wait for the headers; the body is timed by the
   * consumer's heartbeat.
   */
  async openWatch(
    namespaces: readonly string[],
    lastEventId: string | undefined,
    signal: AbortSignal,
    environment = this.#options.environment,
  ): Promise<Readable> {
    const list = namespaces.map(encodeURIComponent).join(',');
    const path = `${this.#basePath}/api/v1/watch?namespaces=${list}&env=${environment}`;
    const headers = { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) };
    const deadline = this.#deadline(signal);
    let response: Answer;
    try {
      response = await this.#request(path, headers, deadline.signal, { stream: true });
    } catch (error) {
      const explained = deadline.explain(error);
      // Upstream has no watch route (404/405), or its input filter rejects the `&` (400).
      if (explained instanceof CentralHttpError && WATCH_UNSUPPORTED.has(explained.status)) {
        throw new StreamUnsupportedError(`watch answered ${explained.status}: the server offers no watch stream`, { cause: explained });
      }
      throw explained;
    } finally {
      deadline.done();
    }
    const type = String(response.headers['content-type'] ?? '');
    if (!type.startsWith('text/event-stream')) {
      // Not read: it may be a stream of anything, with no deadline left.
      response.body.destroy();
      throw new CentralProtocolError(`watch answered 200 with content type "${type}", not text/event-stream`);
    }
    return response.body;
  }

  /**
   * An abort signal that fires at the caller's abort or after --request-timeout.
   * `done()` stops the clock and the forwarding (a watch body outlives its deadline:
   * the engine ends it on its own abort); `explain()` turns the timeout into a coded error.
   */
  #deadline(outer: AbortSignal | undefined) {
    const controller = new AbortController();
    const ms = this.#options.requestTimeoutMs;
    const timedOut = new CentralUnreachableError(`${this.#options.baseUrl.origin}: no complete answer within ${ms}ms (--request-timeout)`);
    const timer = setTimeout(() => controller.abort(timedOut), ms);
    const forward = (): void => controller.abort(outer?.reason);
    if (outer?.aborted) forward();
    else outer?.addEventListener('abort', forward, { once: true });
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        outer?.removeEventListener('abort', forward);
      },
      explain: (error: unknown): unknown => (controller.signal.reason === timedOut && !outer?.aborted ? timedOut : error),
    };
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  async #request(path: string, headers: Record<string, string>, signal?: AbortSignal, mode: { stream?: boolean } = {}): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      const response = await this.#send(path, { ...(await this.#baseHeaders()), ...headers }, signal, mode);
      if (response.statusCode === 401 && attempt === 1 && this.#options.token) {
        // The token may have rotated since we cached it: re-read once, then give up.
        await discard(response.body);
        this.#options.token.invalidate();
        continue;
      }
      const status = response.statusCode;
      if ((status >= 200 && status < 300) || status === 304) return response;
      if (status < 200 || status > 599) {
        // Node's parser lets `HTTP/1.1 000` through; no server answers that: never taken as data.
        response.body.destroy();
        throw new CentralProtocolError(`answered status ${status}, which is no HTTP answer; expected 2xx or 304`);
      }
      throw await this.#httpError(response);
    }
  }

  async #send(path: string, headers: Record<string, string>, signal: AbortSignal | undefined, mode: { stream?: boolean }) {
    await this.#options.beforeSend?.(signal);
    try {
      return await this.#transport.exchange({
        path,
        method: 'GET',
        headers,
        signal,
        headersTimeoutMs: this.#options.requestTimeoutMs,
        // The watch stream has its own heartbeat timer; for plain reads the body must arrive in time.
        bodyTimeoutMs: mode.stream ? 0 : this.#options.requestTimeoutMs,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new CentralUnreachableError(`cannot reach ${this.#options.baseUrl.origin}: ${describeNetworkError(error)}`, { cause: error });
    }
  }

  async #baseHeaders(): Promise<Record<string, string>> {
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent };
    for (const [name, value] of this.#options.headers) headers[name.toLowerCase()] = value;
    if (this.#options.token) headers.authorization = `Bearer ${await this.#options.token.read()}`;
    return headers;
  }

  async #readJson(response: Answer, what: string): Promise<unknown> {
    const text = await readBounded(response.body, this.#options.maxBodyBytes, what);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new CentralProtocolError(`${what}: the body is not JSON`, { cause: error });
    }
  }

  async #httpError(response: Answer): Promise<CentralHttpError> {
    let detail = '';
    try {
      detail = summariseErrorBody(await readBounded(response.body, 64 * 1024, 'error body'));
    } catch {
      response.body.destroy();
    }
    const retryAfter = parseRetryAfterMs(response.headers['retry-after']);
    return response.statusCode === 429
      ? new CentralRateLimitedError(429, detail, retryAfter)
      : new CentralHttpError(response.statusCode, detail, retryAfter);
  }
}

/** Reads a body up to `limit` bytes; a larger one is refused, never buffered whole. */
export async function readBounded(body: Readable, limit: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new CentralProtocolError(`${what}: body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Upstream errors are `{"error","message"}` JSON, plain text, or empty: show what is there. */
export function summariseErrorBody(text: string): string {
  let summary = text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string') {
      summary = (parsed as { message: string }).message;
    }
  } catch {
    // not JSON: keep the text as it is
  }
  return summary
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, 200);
}

/**
 * Retry-After as ms, or undefined when it says nothing usable. Seconds may be
 * fractional ("5.5"); a past date is 0. Negative numbers, exponents and other text
 * are garbage. The caller (backoff) applies the floor and the one-hour ceiling.
 */
export function parseRetryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.min(Number(value) * 1000, 3_600_000);
  if (!/[a-z]/i.test(value)) return undefined; // "-1", "1e9"-like numbers are not HTTP dates
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - Date.now()), 3_600_000);
}

function describeNetworkError(error: unknown): string {
  if (error instanceof LlmConfigError) return error.message;
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code} ${message}` : message;
}
