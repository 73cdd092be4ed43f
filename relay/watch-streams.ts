// The watch streams the relay serves agents: the dev-server's framing (shared module),
// one formatted event written to every stream of its (environment, namespace), one
// ping timer for all streams. A stream that cannot keep up (over 1 MiB unsent) is cut;
// its agent reconnects with Last-Event-ID and resumes from the log.
//
// Authorization is not only checked when a stream opens: a stream ends when its pod's
// Kubernetes namespace changes so that it may no longer read one of its namespaces
// (annotation edited or removed, namespace deleted: the informer's event) and when its
// token expires (a timer at `exp`). The agent reconnects and meets the verdict of today.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { deleteEventData, SSE_HEADERS, SSE_PING, sseEvent, sseSnapshot } from '../src/central-api-server/protocol.ts';
import type { Environment } from '../src/environments.ts';
import type { AccessControl, Reader } from './access-control.ts';
import type { FleetView } from './fleet-view.ts';
import type { NamespaceSlots, RelayEvent, Slot } from './namespace-slots.ts';
import type { RelayMetrics } from './relay-metrics.ts';

const MAX_UNSENT = 1024 * 1024;

type Stream = {
  readonly res: ServerResponse;
  readonly reader: Reader;
  readonly slots: readonly Slot[];
  expiry: NodeJS.Timeout | undefined;
};

/** setTimeout's longest delay; later expiries are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function formatRelayEvent(event: RelayEvent): string {
  const { change } = event;
  const data = change.type === 'put' ? change.entry : deleteEventData(change.namespace, change.key, event.environment);
  return sseEvent(change.type, event.revision, data);
}

export class WatchStreams {
  readonly #slots: NamespaceSlots;
  readonly #fleet: FleetView;
  readonly #metrics: RelayMetrics;
  readonly #access: AccessControl | undefined;
  readonly #bySlot = new Map<string, Set<Stream>>();
  readonly #all = new Set<Stream>();
  readonly #ping: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(options: {
    slots: NamespaceSlots;
    fleet: FleetView;
    metrics: RelayMetrics;
    pingIntervalMs: number;
    access?: AccessControl;
  }) {
    this.#slots = options.slots;
    this.#fleet = options.fleet;
    this.#metrics = options.metrics;
    this.#access = options.access;
    this.#access?.onChange((k8sNamespace) => this.#recheck(k8sNamespace));
    this.#unsubscribe = this.#slots.onEvent((event) => this.#broadcast(event));
    this.#ping = setInterval(() => {
      for (const stream of this.#all) this.#write(stream, SSE_PING);
    }, options.pingIntervalMs);
    this.#ping.unref();
  }

  get size(): number {
    return this.#all.size;
  }

  /** Starts a stream: missed events when `lastEventId` can be resumed from, else a snapshot. */
  open(
    req: IncomingMessage,
    res: ServerResponse,
    reader: Reader,
    environment: Environment,
    slots: readonly Slot[],
    lastEventId: number | undefined,
  ): void {
    const stream: Stream = { res, reader, slots, expiry: undefined };
    res.writeHead(200, SSE_HEADERS);
    const wanted = new Set(slots.map((s) => s.namespace));
    const missed = lastEventId === undefined ? undefined : this.#slots.eventsSince(lastEventId, environment, wanted);
    const revision = this.#slots.revision;
    if (missed === undefined) {
      res.write(
        sseSnapshot({ revision, environment, namespaces: Object.fromEntries(slots.map((s) => [s.namespace, [...s.data.values()]])) }),
      );
    } else if (missed.length > 0) {
      res.write(missed.map(formatRelayEvent).join(''));
    }
    for (const slot of slots) {
      slot.streams++;
      this.#fleet.sent(reader, slot, missed === undefined ? revision : Math.max(lastEventId ?? 0, slot.revision));
      let set = this.#bySlot.get(slot.key);
      if (set === undefined) this.#bySlot.set(slot.key, (set = new Set()));
      set.add(stream);
    }
    this.#all.add(stream);
    this.#fleet.streamOpened(reader);
    this.#metrics.streams.set(this.#all.size);
    res.on('close', () => this.#closed(stream));
    req.socket.setNoDelay(true);
    if (reader.expiresAt !== undefined) this.#armExpiry(stream, reader.expiresAt);
  }

  #armExpiry(stream: Stream, at: number): void {
    const wait = at - Date.now();
    if (wait <= 0) {
      this.#revoke(stream, 'token expired');
      return;
    }
    stream.expiry = setTimeout(() => this.#armExpiry(stream, at), Math.min(wait, MAX_TIMER_MS));
    stream.expiry.unref();
  }

  /** Ends the streams of pods in `k8sNamespace` that may no longer read what they watch. */
  #recheck(k8sNamespace: string): void {
    for (const stream of [...this.#all]) {
      if (stream.reader.namespace !== k8sNamespace) continue;
      const verdict = this.#access!.recheck(
        stream.reader,
        stream.slots.map((s) => s.namespace),
      );
      if (!verdict.ok) this.#revoke(stream, verdict.message);
    }
  }

  #revoke(stream: Stream, why: string): void {
    this.#metrics.revoked.inc({ reason: why === 'token expired' ? 'expired' : 'denied' });
    stream.res.end();
    this.#closed(stream);
  }

  /** Ends every stream (SIGTERM): agents reconnect, to another replica, and resume. */
  closeAll(): void {
    clearInterval(this.#ping);
    this.#unsubscribe();
    for (const stream of [...this.#all]) stream.res.end();
  }

  #broadcast(event: RelayEvent): void {
    const streams = this.#bySlot.get(`${event.environment}\u0000${event.namespace}`);
    if (streams === undefined || streams.size === 0) return;
    const text = formatRelayEvent(event);
    const slot = streams
      .values()
      .next()
      .value!.slots.find((s) => s.namespace === event.namespace)!;
    const now = Date.now();
    for (const stream of streams) {
      this.#write(stream, text);
      this.#fleet.sent(stream.reader, slot, event.revision, now);
    }
    this.#metrics.fanout.observe((Date.now() - event.at) / 1000);
  }

  #write(stream: Stream, text: string): void {
    if (stream.res.writableLength > MAX_UNSENT) {
      stream.res.destroy();
      return;
    }
    stream.res.write(text);
  }

  #closed(stream: Stream): void {
    if (!this.#all.delete(stream)) return;
    clearTimeout(stream.expiry);
    const now = Date.now();
    for (const slot of stream.slots) {
      slot.streams = Math.max(0, slot.streams - 1);
      slot.lastDemandAt = now;
      this.#bySlot.get(slot.key)?.delete(stream);
    }
    this.#fleet.streamClosed(stream.reader);
    this.#metrics.streams.set(this.#all.size);
  }
}
