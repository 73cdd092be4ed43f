// The server side of the central API protocol, shared by the reference dev-server and
// the relay so that both answer byte for byte alike: the health body, JSON error
// bodies, the ETag of a JSON answer, and the framing of watch-stream events.

import { createHash } from 'node:crypto';

/** Upstream's GET /health answer. */
export const HEALTH_BODY = Object.freeze({ status: 'healthy', service: 'llm-config-manager', version: '0.5.0' });

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Upstream's JSON error shape: `{"error": <reason phrase>, "message": <text>}`. */
export function apiErrorBody(status: number, message: string): { error: string; message: string } {
  return { error: REASONS[status] ?? 'Error', message };
}

/** The strong ETag of a JSON answer: a digest of exactly the bytes sent. */
export function etagOfJson(json: string): string {
  return `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

export const SSE_HEADERS = Object.freeze({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
export const SSE_PING = ': ping\n\n';

/** One watch-stream event; `data` is serialised on one line. */
export function sseEvent(type: 'snapshot' | 'put' | 'delete', id: number, data: unknown): string {
  return `event: ${type}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

export type SnapshotData = {
  readonly revision: number;
  readonly environment: string;
  readonly namespaces: Readonly<Record<string, readonly unknown[]>>;
};

export function sseSnapshot(data: SnapshotData): string {
  return sseEvent('snapshot', data.revision, data);
}

/** Data of a `delete` event. */
export function deleteEventData(namespace: string, key: string, environment: string): object {
  return { namespace, key, environment };
}

/**
 * `?namespaces=a,b` of a watch request: names are percent-encoded one by one, so the
 * comma separates and `%2C` would be part of a name.
 */
export function watchNamespaces(url: URL): string[] {
  return (url.searchParams.get('namespaces') ?? '').split(',').filter(Boolean).map(decodeURIComponent);
}

/** A Last-Event-ID this server could have sent (a decimal revision), else undefined. */
export function parseLastEventId(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
