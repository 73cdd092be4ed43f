// What the relay syncs: one slot per (environment, namespace) that an agent asked for
// or --namespaces preloaded. Each slot has its own ConfigStore (the agent's store: the
// same diffing and invariants) and is listed upstream through the agent's poll cycle,
// once per interval, in due order, never faster than the upstream budget allows. A
// cold slot is due at once, and every reader of it waits on that one request
// (coalescing). Changes become watch events with one relay-wide revision.

import type { CentralClient } from '../src/central/client.ts';
import { EventLog } from '../src/central-api-server/event-log.ts';
import type { Environment } from '../src/environments.ts';
import { describeError, errorCode } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';
import { retryDelayMs, type BackoffPolicy } from '../src/sync/backoff.ts';
import { cycleFailure, pollAllNamespaces } from '../src/sync/poll-cycle.ts';
import { MAX_INTERVAL_MS, Pacing } from '../src/sync/pacing.ts';
import type { Entry, Refusal } from '../src/central/entry.ts';
import type { Change } from '../src/store/config-store.ts';
import { Slot, slotKey } from './slot.ts';
import type { RelayMetrics } from './relay-metrics.ts';
import type { UpstreamBudget } from './upstream-budget.ts';

export { Slot, slotKey } from './slot.ts';

export type RelayEvent = {
  readonly revision: number;
  /** ms since epoch when the relay applied it. */
  readonly at: number;
  readonly environment: Environment;
  readonly namespace: string;
  readonly change: Change;
};

export type NamespaceSlotsOptions = {
  /** One client for every environment: the environment is passed per request. */
  readonly client: CentralClient;
  readonly budget: UpstreamBudget;
  readonly pollIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly maxSlots: number;
  /** Most slots one identity may have created that nobody else reads (default: no limit). */
  readonly maxPerClient?: number;
  /** A slot only its creator reads and upstream answered empty (likely a made-up name) is dropped this soon (default 60 s). */
  readonly emptyIdleMs?: number;
  /** How long a first reader waits for the first upstream answer before getting 503. */
  readonly firstLoadWaitMs: number;
  /** A slot kept current by an upstream stream is still listed this often (the agent's full resync). */
  readonly resyncIntervalMs: number;
  readonly backoff: BackoffPolicy;
  readonly logger: Logger;
  readonly metrics: RelayMetrics;
  /** Entries refused by a slot's store (foreign, malformed, too deep): the agent's report (metric + one log line each). */
  readonly onRefused?: (refusal: Refusal) => void;
};

const EMPTY_IDLE_MS = 60_000;

export class NamespaceSlots {
  readonly #o: NamespaceSlotsOptions;
  readonly #slots = new Map<string, Slot>();
  readonly #etags = new Map<Environment, Map<string, string>>();
  readonly #log = new EventLog<RelayEvent>(10_000);
  readonly #listeners = new Set<(event: RelayEvent) => void>();
  readonly #setListeners = new Set<(environment: Environment) => void>();
  readonly #abort = new AbortController();
  readonly #inflight = new Set<Promise<void>>();
  /** identity → slots it created that nobody else reads. */
  readonly #owned = new Map<string, number>();
  // A random start per process: an event id from another replica or an earlier life
  // never falls inside this one's log, so such a client gets a fresh snapshot.
  #revision = Math.floor(Math.random() * 2 ** 32) * 1000;
  #rateLimited = 0;
  // The agent's adaptive pacing after 429s (src/sync/pacing.ts): the interval doubles and
  // the slowdown is held, so the relay settles under upstream's limit instead of bouncing off it.
  readonly #pacing: Pacing;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: NamespaceSlotsOptions) {
    this.#o = options;
    this.#pacing = new Pacing(options.pollIntervalMs);
  }

  get #emptyIdleMs(): number {
    return Math.min(this.#o.idleTimeoutMs, this.#o.emptyIdleMs ?? EMPTY_IDLE_MS);
  }

  get revision(): number {
    return this.#revision;
  }

  get size(): number {
    return this.#slots.size;
  }

  slots(): IterableIterator<Slot> {
    return this.#slots.values();
  }

  get(environment: Environment, namespace: string): Slot | undefined {
    return this.#slots.get(slotKey(environment, namespace));
  }

  /** Called when a slot of `environment` was created, loaded for the first time, or dropped. */
  onSlotsChanged(listener: (environment: Environment) => void): () => void {
    this.#setListeners.add(listener);
    return () => this.#setListeners.delete(listener);
  }

  /** `slot` is now kept current by an upstream stream (or no longer, `false`): its polls pause until the resync. */
  setStreamed(slot: Slot, streamed: boolean, now = Date.now()): void {
    if (streamed) {
      slot.lastSuccessAt = now;
      slot.lastError = undefined;
      slot.failures = 0;
      if (!slot.streamed) slot.nextDueAt = Math.max(slot.nextDueAt, now + this.#o.resyncIntervalMs);
    } else if (slot.streamed) {
      slot.nextDueAt = Math.min(slot.nextDueAt, now);
      this.#wake?.();
    }
    slot.streamed = streamed;
  }

  onEvent(listener: (event: RelayEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  eventsSince(revision: number, environment: Environment, namespaces: ReadonlySet<string>): RelayEvent[] | undefined {
    return this.#log.since(revision, this.#revision, (e) => e.environment === environment && namespaces.has(e.namespace));
  }

  findEvent(revision: number): RelayEvent | undefined {
    return this.#log.find(revision);
  }

  /** The slot for a read, created (cold, due at once) when new; undefined when the relay is full. */
  demand(environment: Environment, namespace: string, pin = false): Slot | undefined {
    const now = Date.now();
    let slot = this.#slots.get(slotKey(environment, namespace));
    if (slot === undefined) {
      if (this.#slots.size >= this.#o.maxSlots) return undefined;
      slot = this.#create(environment, namespace, now);
      this.#o.logger.info({ namespace, environment, slots: this.#slots.size }, 'namespace requested; syncing it');
    }
    slot.lastDemandAt = now;
    if (pin) slot.pinned = true;
    return slot;
  }

  /**
   * The slot for a read by `owner` (a service account, or a client address): a new slot
   * counts against its creator's cap until another identity reads it; existing slots,
   * preloaded or synced for others, never count.
   */
  demandBy(environment: Environment, namespace: string, owner: string): Slot | 'full' | 'client-cap' {
    const existing = this.#slots.get(slotKey(environment, namespace));
    if (existing !== undefined) {
      if (existing.owner !== undefined && existing.owner !== owner) this.#release(existing);
      existing.lastDemandAt = Date.now();
      return existing;
    }
    const owned = this.#owned.get(owner) ?? 0;
    if (owned >= (this.#o.maxPerClient ?? Number.POSITIVE_INFINITY)) return 'client-cap';
    const slot = this.demand(environment, namespace);
    if (slot === undefined) return 'full';
    slot.owner = owner;
    this.#owned.set(owner, owned + 1);
    return slot;
  }

  #release(slot: Slot): void {
    if (slot.owner === undefined) return;
    const left = (this.#owned.get(slot.owner) ?? 1) - 1;
    if (left > 0) this.#owned.set(slot.owner, left);
    else this.#owned.delete(slot.owner);
    slot.owner = undefined;
  }

  /** True once the slot holds data; waits for its first upstream answer (bounded) when it has none yet. */
  async ready(slot: Slot): Promise<boolean> {
    if (slot.store.loaded) return true;
    if (slot.lastAttemptAt !== undefined && !slot.polling) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([slot.nextAttempt, new Promise<void>((r) => (timer = setTimeout(r, this.#o.firstLoadWaitMs)))]);
    clearTimeout(timer);
    return slot.store.loaded;
  }

  /** Last-known-good from the state, served (stale) until upstream answers. */
  restore(environment: Environment, namespaces: ReadonlyMap<string, readonly Entry[]>, lastSuccessAt: number | undefined): number {
    let restored = 0;
    for (const [namespace, entries] of namespaces) {
      if (this.#slots.has(slotKey(environment, namespace)) || this.#slots.size >= this.#o.maxSlots) continue;
      const slot = this.#create(environment, namespace, Date.now());
      slot.store.restore(new Map([[namespace, entries]]), 0, 0);
      slot.revision = ++this.#revision;
      slot.lastSuccessAt = lastSuccessAt;
      restored++;
    }
    this.#updateGauges();
    return restored;
  }

  /**
   * Upstream answered 429 (to a list or a watch): its buckets are global, so every
   * request waits a backoff delay, and the interval stretches (the agent's pacing).
   */
  rateLimited(error: unknown): void {
    this.#o.budget.pause(retryDelayMs(this.#o.backoff, ++this.#rateLimited, error));
    this.#pacing.record(true, Date.now());
    this.#updateGauges();
  }

  /** Time between two syncs of one slot: the interval, or longer when the budget cannot fit it or upstream said 429. */
  effectiveIntervalMs(): number {
    const fitted = Math.max(this.#o.pollIntervalMs, Math.ceil(this.#slots.size * this.#o.budget.spacingMs));
    return Math.min(MAX_INTERVAL_MS, Math.round(fitted * this.#pacing.state.factor));
  }

  isStale(slot: Slot, now = Date.now()): boolean {
    return slot.lastError !== undefined || slot.lastSuccessAt === undefined || now - slot.lastSuccessAt > 3 * this.effectiveIntervalMs();
  }

  start(): void {
    this.#loop ??= this.#run();
    const every = Math.max(500, Math.min(this.#emptyIdleMs / 2, 30_000));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  async stop(): Promise<void> {
    this.#abort.abort(new Error('relay stopping'));
    clearInterval(this.#sweeper);
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled(this.#inflight);
  }

  status() {
    const now = Date.now();
    const effective = this.effectiveIntervalMs();
    return {
      revision: this.#revision,
      namespaces: this.#slots.size,
      pollIntervalMs: this.#o.pollIntervalMs,
      effectiveIntervalMs: effective,
      budgetExceeded: effective > this.#o.pollIntervalMs,
      pacingFactor: this.#pacing.state.factor,
      upstreamPausedForMs: Math.max(0, this.#o.budget.pausedUntil - now),
      slots: [...this.#slots.values()].map((s) => ({
        namespace: s.namespace,
        environment: s.environment,
        loaded: s.store.loaded,
        entries: s.data.size,
        revision: s.revision,
        streams: s.streams,
        preloaded: s.pinned,
        stale: this.isStale(s, now),
        lastSuccessAt: s.lastSuccessAt === undefined ? null : new Date(s.lastSuccessAt).toISOString(),
        lastError: s.lastError ?? null,
      })),
    };
  }

  #create(environment: Environment, namespace: string, now: number): Slot {
    const slot = new Slot(environment, namespace, now);
    if (this.#o.onRefused) slot.store.onRefused(this.#o.onRefused);
    slot.store.onRevision(({ changes }) => {
      if (this.#slots.get(slot.key) !== slot) return; // evicted while its request was in flight
      for (const change of changes) this.#emit(slot, change);
    });
    this.#slots.set(slot.key, slot);
    this.#updateGauges();
    this.#wake?.();
    this.#changed(environment);
    return slot;
  }

  #emit(slot: Slot, change: Change): void {
    const event: RelayEvent = {
      revision: ++this.#revision,
      at: Date.now(),
      environment: slot.environment,
      namespace: slot.namespace,
      change,
    };
    slot.revision = event.revision;
    this.#log.push(event);
    for (const listener of this.#listeners) listener(event);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const now = Date.now();
      const due = this.#nextDue();
      const at = due === undefined ? Number.POSITIVE_INFINITY : Math.max(due.nextDueAt, this.#o.budget.nextStartAt(now));
      if (at > now) {
        await this.#sleep(at - now);
        continue;
      }
      this.#o.budget.take(now);
      const poll = this.#poll(due!).finally(() => this.#inflight.delete(poll));
      this.#inflight.add(poll);
    }
  }

  #nextDue(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots.values()) if (!slot.polling && (best === undefined || slot.nextDueAt < best.nextDueAt)) best = slot;
    return best;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #poll(slot: Slot): Promise<void> {
    const { client, metrics, backoff, logger } = this.#o;
    const started = Date.now();
    slot.polling = true;
    slot.lastAttemptAt = started;
    const wasLoaded = slot.store.loaded;
    let etags = this.#etags.get(slot.environment);
    if (etags === undefined) this.#etags.set(slot.environment, (etags = new Map()));
    try {
      const outcome = await pollAllNamespaces(client, slot.store, [slot.namespace], etags, this.#abort.signal, slot.environment);
      const failure = cycleFailure(outcome);
      if (failure !== undefined) throw failure;
      metrics.upstreamRequests.inc({ result: 'ok' });
      if (!wasLoaded) this.#changed(slot.environment);
      if (slot.lastError !== undefined) logger.info({ namespace: slot.namespace, environment: slot.environment }, 'upstream answers again');
      slot.failures = 0;
      this.#rateLimited = 0;
      this.#pacing.record(false, Date.now());
      slot.lastError = undefined;
      slot.lastSuccessAt = Date.now();
      // Exactly one interval: no jitter below it (the budget bar is an upper bound) nor above
      // it (the propagation bar is interval + 1 s). The budget's spacing already spreads slots.
      slot.nextDueAt = started + (slot.streamed ? this.#o.resyncIntervalMs : this.effectiveIntervalMs());
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      const rateLimited = errorCode(error) === 'LLMC_ERR_CENTRAL_RATE_LIMITED';
      metrics.upstreamRequests.inc({ result: rateLimited ? 'rate_limited' : 'error' });
      slot.failures++;
      slot.lastError = describeError(error);
      const delay = retryDelayMs(backoff, slot.failures, error);
      slot.nextDueAt = Date.now() + delay;
      if (rateLimited) this.rateLimited(error);
      logger.warn(
        { namespace: slot.namespace, environment: slot.environment, attempt: slot.failures, delayMs: delay, err: slot.lastError },
        'upstream sync failed; backing off',
      );
    } finally {
      slot.polling = false;
      slot.attemptEnded();
      this.#wake?.();
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const slot of [...this.#slots.values()]) {
      const emptyAndOwned = slot.owner !== undefined && slot.store.loaded && slot.data.size === 0;
      const idleMs = emptyAndOwned ? this.#emptyIdleMs : this.#o.idleTimeoutMs;
      if (slot.pinned || slot.streams > 0 || now - slot.lastDemandAt < idleMs) continue;
      this.#release(slot);
      this.#slots.delete(slot.key);
      this.#etags.get(slot.environment)?.delete(slot.namespace);
      this.#changed(slot.environment);
      this.#o.logger.info({ namespace: slot.namespace, environment: slot.environment }, 'namespace idle; no longer synced');
    }
    this.#updateGauges();
  }

  #changed(environment: Environment): void {
    for (const listener of this.#setListeners) listener(environment);
  }

  #updateGauges(): void {
    const { metrics, pollIntervalMs } = this.#o;
    const effective = this.effectiveIntervalMs();
    metrics.namespaces.set(this.#slots.size);
    metrics.effectiveInterval.set(effective / 1000);
    metrics.budgetExceeded.set(effective > pollIntervalMs ? 1 : 0);
  }
}
