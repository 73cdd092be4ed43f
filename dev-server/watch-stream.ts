// GET /api/v1/watch: the Server-Sent Events extension (docs/protocol.md). A client
// resuming with Last-Event-ID gets the events it missed when the log still reaches
// back; otherwise a fresh `snapshot`. `: ping` comments keep idle connections honest.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { matches, type DevStore, type StoreEvent } from './dev-store.ts';
import { deleteEventData, SSE_HEADERS, SSE_PING, sseEvent, sseSnapshot } from '../src/central-api-server/protocol.ts';

export function formatEvent(event: StoreEvent): string {
  const data = event.type === 'put' ? event.entry : deleteEventData(event.namespace, event.key, event.environment);
  return sseEvent(event.type, event.revision, data);
}

export function formatSnapshot(store: DevStore, environment: string, namespaces: readonly string[]): string {
  return sseSnapshot({
    revision: store.revision,
    environment,
    namespaces: Object.fromEntries(namespaces.map((ns) => [ns, store.list(environment, ns)])),
  });
}

export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  store: DevStore,
  watch: { environment: string; namespaces: readonly string[]; pingIntervalMs: number },
): void {
  const wanted = new Set(watch.namespaces);
  res.writeHead(200, SSE_HEADERS);
  const lastEventId = Number(req.headers['last-event-id']);
  const missed = Number.isSafeInteger(lastEventId) ? store.eventsSince(lastEventId, watch.environment, wanted) : undefined;
  res.write(missed === undefined ? formatSnapshot(store, watch.environment, watch.namespaces) : missed.map(formatEvent).join(''));
  const unsubscribe = store.onEvent((event) => {
    if (matches(event, watch.environment, wanted)) res.write(formatEvent(event));
  });
  const ping = setInterval(() => res.write(SSE_PING), watch.pingIntervalMs);
  const close = (): void => {
    clearInterval(ping);
    unsubscribe();
  };
  res.on('close', close);
}
