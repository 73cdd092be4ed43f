// The fleet view: per pod (from the token's pod-name claim), which relay revision of
// each namespace it was last sent and when — so "which pods hold revision X" and "how
// long until the whole fleet had it" are one request (GET /fleet?revision=X on the
// admin port) and one metric. Bounded: pods not seen for the idle timeout are dropped,
// and at most `maxPods` are kept.

import type { Reader } from './access-control.ts';
import type { NamespaceSlots, Slot } from './namespace-slots.ts';

type Delivery = { readonly revision: number; readonly at: number };
type PodRecord = {
  readonly reader: Reader;
  streams: number;
  readonly firstSeenAt: number;
  lastSeenAt: number;
  /** slot key → recent deliveries, oldest first (a short ring: enough to date a recent revision). */
  readonly deliveries: Map<string, Delivery[]>;
};

const RING = 16;

export class FleetView {
  readonly #pods = new Map<string, PodRecord>();
  readonly #slots: NamespaceSlots;
  readonly #ttlMs: number;
  readonly #maxPods: number;

  constructor(options: { slots: NamespaceSlots; ttlMs: number; maxPods?: number }) {
    this.#slots = options.slots;
    this.#ttlMs = options.ttlMs;
    this.#maxPods = options.maxPods ?? 50_000;
  }

  get size(): number {
    return this.#pods.size;
  }

  streamOpened(reader: Reader): void {
    this.#record(reader).streams++;
  }

  streamClosed(reader: Reader): void {
    const pod = this.#pods.get(reader.id);
    if (pod) pod.streams = Math.max(0, pod.streams - 1);
  }

  /** `reader` was sent `slot`'s data as of `revision`. */
  sent(reader: Reader, slot: Slot, revision: number, at = Date.now()): void {
    const pod = this.#record(reader, at);
    let ring = pod.deliveries.get(slot.key);
    if (ring === undefined) pod.deliveries.set(slot.key, (ring = []));
    if (ring.at(-1)?.revision === revision) return;
    ring.push({ revision, at });
    if (ring.length > RING) ring.shift();
  }

  report() {
    this.#sweep();
    return [...this.#pods.values()].map((p) => {
      let last: Delivery | undefined;
      for (const ring of p.deliveries.values()) {
        const d = ring.at(-1);
        if (d && (last === undefined || d.revision > last.revision)) last = d;
      }
      return {
        pod: p.reader.pod ?? null,
        namespace: p.reader.namespace ?? null,
        serviceAccount: p.reader.serviceAccount ?? null,
        id: p.reader.id,
        streams: p.streams,
        lastRevision: last?.revision ?? null,
        lastSentAt: last ? new Date(last.at).toISOString() : null,
        namespaces: [...p.deliveries.keys()].map((k) => k.replace('\u0000', '/')),
      };
    });
  }

  /** Which pods reading the namespace of `revision` hold it, and since when; undefined when the log no longer has it. */
  revision(revision: number) {
    const event = this.#slots.findEvent(revision);
    if (event === undefined) return undefined;
    const key = `${event.environment}\u0000${event.namespace}`;
    const holding: Array<{ id: string; at: number }> = [];
    const missing: string[] = [];
    for (const pod of this.#pods.values()) {
      const ring = pod.deliveries.get(key);
      if (ring === undefined) continue;
      const got = ring.find((d) => d.revision >= revision);
      if (got) holding.push({ id: pod.reader.id, at: got.at });
      else missing.push(pod.reader.id);
    }
    const latest = holding.reduce((max, h) => Math.max(max, h.at), event.at);
    return {
      revision,
      environment: event.environment,
      namespace: event.namespace,
      seenAt: new Date(event.at).toISOString(),
      pods: holding.length + missing.length,
      holding: holding.map((h) => ({ id: h.id, sinceMs: h.at - event.at })),
      missing,
      /** ms from the relay seeing the change until the last reader had it; null while some have not. */
      convergedAfterMs: missing.length === 0 ? latest - event.at : null,
    };
  }

  #record(reader: Reader, at = Date.now()): PodRecord {
    let pod = this.#pods.get(reader.id);
    if (pod === undefined) {
      pod = { reader, streams: 0, firstSeenAt: at, lastSeenAt: at, deliveries: new Map() };
      if (this.#pods.size >= this.#maxPods) this.#sweep(true);
    } else this.#pods.delete(reader.id); // re-insert: Map order is least recently seen first
    pod.lastSeenAt = at;
    this.#pods.set(reader.id, pod);
    return pod;
  }

  #sweep(full = false): void {
    const cutoff = Date.now() - this.#ttlMs;
    for (const [id, pod] of this.#pods) {
      if (pod.streams === 0 && (pod.lastSeenAt < cutoff || (full && this.#pods.size >= this.#maxPods))) this.#pods.delete(id);
    }
  }
}
