// GET /api/v1/watch: the Server-Sent Events extension (docs/protocol.md). A client
// resuming with Last-Event-ID gets the events it missed when the log still reaches
// back; otherwise a fresh `snapshot`. `: ping` comments keep idle connections honest.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { matches, type DevStore, type StoreEvent } from './dev-store.ts';

export function formatEvent(event: StoreEvent): string {
  const data = event.type === 'put' ? event.entry : { namespace: event.namespace, key: event.key, environment: event.environment };
  return `event: ${event.type}\nid: ${event.revision}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function formatSnapshot(store: DevStore, environment: string, namespaces: readonly string[]): string {
  const data = {
    revision: store.revision,
    environment,
    namespaces: Object.fromEntries(namespaces.map((ns) => [ns, store.list(environment, ns)])),
  };
  return `event: snapshot\nid: ${store.revision}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  store: DevStore,
  watch: { environment: string; namespaces: readonly string[]; pingIntervalMs: number },
): void {
  const wanted = new Set(watch.namespaces);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  const lastEventId = Number(req.headers['last-event-id']);
  const missed = Number.isSafeInteger(lastEventId) ? store.eventsSince(lastEventId, watch.environment, wanted) : undefined;
  res.write(missed === undefined ? formatSnapshot(store, watch.environment, watch.namespaces) : missed.map(formatEvent).join(''));
  const unsubscribe = store.onEvent((event) => {
    if (matches(event, watch.environment, wanted)) res.write(formatEvent(event));
  });
  const ping = setInterval(() => res.write(': ping\n\n'), watch.pingIntervalMs);
  const close = (): void => {
    clearInterval(ping);
    unsubscribe();
  };
  res.on('close', close);
}
