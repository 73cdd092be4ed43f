// --sync-mode stream: per environment, one upstream watch stream over every loaded slot
// of it (the agent's client and SSE consumer), so an upstream that offers the watch (the
// dev-server, another relay) reaches agents at once and is listed only at each resync.
// A cold slot is loaded by a poll first (coalescing stays one request); when the set
// of slots changes the stream reconnects, resuming only when it names the same set.
// Upstream without a watch (400/404/405/501) is probed again once per resync interval
// and polled meanwhile; any other failure backs off as the agent does, with polling
// taking over at once.

import type { Readable } from 'node:stream';
import { retryDelayMs, sleep, type BackoffPolicy } from '../src/sync/backoff.ts';
import type { CentralClient } from '../src/central/client.ts';
import type { Refusal } from '../src/central/entry.ts';
import type { Environment } from '../src/environments.ts';
import { describeError, errorCode } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';
import { consumeWatchStream, isUsableEventId, type WatchEvent } from '../src/sync/sse-consumer.ts';
import type { NamespaceSlots, Slot } from './namespace-slots.ts';
import type { UpstreamBudget } from './upstream-budget.ts';

export type UpstreamWatchOptions = {
  readonly client: CentralClient;
  readonly slots: NamespaceSlots;
  readonly budget: UpstreamBudget;
  readonly backoff: BackoffPolicy;
  readonly heartbeatTimeoutMs: number;
  readonly resyncIntervalMs: number;
  readonly maxEventBytes: number;
  readonly logger: Logger;
  readonly onRefused?: (refusal: Refusal) => void;
};

/** A connection that lasted this long resets the backoff (as the agent's). */
const HEALTHY_AFTER_MS = 10_000;
/** Slots come in bursts (a rollout): reconnect once the set has been still this long. */
const SETTLE_MS = 500;

export class UpstreamWatches {
  readonly #o: UpstreamWatchOptions;
  readonly #abort = new AbortController();
  readonly #loops = new Map<Environment, Promise<void>>();
  readonly #changed = new Map<Environment, () => void>();
  readonly #unsubscribe: () => void;

  constructor(options: UpstreamWatchOptions) {
    this.#o = options;
    this.#unsubscribe = options.slots.onSlotsChanged((environment) => this.#slotsChanged(environment));
  }

  /** Starts a stream for every environment that already has slots (preloads, restored state). */
  start(): void {
    for (const slot of this.#o.slots.slots()) this.#slotsChanged(slot.environment);
  }

  async stop(): Promise<void> {
    this.#unsubscribe();
    this.#abort.abort(new Error('relay stopping'));
    await Promise.allSettled(this.#loops.values());
  }

  #slotsChanged(environment: Environment): void {
    if (this.#abort.signal.aborted) return;
    if (!this.#loops.has(environment)) this.#loops.set(environment, this.#run(environment));
    else this.#changed.get(environment)?.();
  }

  async #run(environment: Environment): Promise<void> {
    const { slots, budget, client, logger } = this.#o;
    const signal = this.#abort.signal;
    let lastEventId: string | undefined;
    let connectedSet = '';
    let failures = 0;
    while (!signal.aborted) {
      const wanted = this.#loaded(environment);
      const names = wanted.map((s) => s.namespace).sort();
      if (names.length === 0) {
        await this.#waitForChange(environment, Number.POSITIVE_INFINITY);
        continue;
      }
      const startAt = budget.nextStartAt();
      if (startAt > Date.now()) {
        await sleep(startAt - Date.now(), signal).catch(() => undefined);
        continue;
      }
      budget.take();
      const set = names.join(',');
      const connection = new AbortController();
      const stopConnection = (): void => connection.abort(signal.reason);
      signal.addEventListener('abort', stopConnection, { once: true });
      const onChange = (): void =>
        void setTimeout(() => {
          if (this.#loadedSet(environment) !== set) connection.abort(new Error('namespaces changed'));
        }, SETTLE_MS);
      this.#changed.set(environment, onChange);
      let body: Readable | undefined;
      let connectedAt = 0;
      const covered = new Map(wanted.map((s) => [s.namespace, s]));
      try {
        body = await client.openWatch(names, set === connectedSet ? lastEventId : undefined, connection.signal, environment);
        connectedSet = set;
        connectedAt = Date.now();
        connection.signal.addEventListener('abort', () => body?.destroy(), { once: true });
        logger.info({ environment, namespaces: names.length }, 'upstream watch stream connected');
        await consumeWatchStream(body, {
          heartbeatTimeoutMs: this.#o.heartbeatTimeoutMs,
          maxEventBytes: this.#o.maxEventBytes,
          onEvent: (event) => {
            const id = this.#apply(environment, covered, event);
            if (id !== undefined) lastEventId = isUsableEventId(id) ? id : undefined;
          },
        });
        throw new Error('upstream ended the watch stream');
      } catch (error) {
        if (signal.aborted) break;
        for (const slot of covered.values()) slots.setStreamed(slot, false);
        if (connection.signal.aborted) continue; // the set of slots changed: reconnect with the new one
        if (connectedAt > 0 && Date.now() - connectedAt >= HEALTHY_AFTER_MS) failures = 0;
        if (errorCode(error) === 'LLMC_ERR_STREAM_UNSUPPORTED') {
          logger.info({ environment, retryStreamInMs: this.#o.resyncIntervalMs }, 'upstream offers no watch stream; polling');
          await this.#waitForChange(environment, this.#o.resyncIntervalMs, true);
          continue;
        }
        failures++;
        const delay = retryDelayMs(this.#o.backoff, failures, error);
        if (errorCode(error) === 'LLMC_ERR_CENTRAL_RATE_LIMITED') slots.rateLimited(error);
        logger.warn(
          { environment, attempt: failures, delayMs: delay, code: errorCode(error), err: describeError(error) },
          'upstream watch failed; polling meanwhile',
        );
        await sleep(delay, signal).catch(() => undefined);
      } finally {
        signal.removeEventListener('abort', stopConnection);
        if (this.#changed.get(environment) === onChange) this.#changed.delete(environment);
      }
    }
  }

  #loaded(environment: Environment): Slot[] {
    return [...this.#o.slots.slots()].filter((s) => s.environment === environment && s.store.loaded);
  }

  #loadedSet(environment: Environment): string {
    return this.#loaded(environment)
      .map((s) => s.namespace)
      .sort()
      .join(',');
  }

  /** Applies one upstream event to the slots it names; returns its id. */
  #apply(environment: Environment, covered: ReadonlyMap<string, Slot>, event: WatchEvent): string | undefined {
    const { slots } = this.#o;
    const now = Date.now();
    switch (event.type) {
      case 'ping':
        for (const slot of covered.values()) if (slot.streamed) slot.lastSuccessAt = now;
        return undefined;
      case 'refused':
        this.#o.onRefused?.(event.refusal);
        return event.id;
      case 'snapshot':
        for (const [namespace, entries] of event.namespaces) {
          const slot = covered.get(namespace) ?? slots.get(environment, namespace);
          if (slot === undefined) continue;
          const result = slot.store.replaceChecked(
            new Map([[namespace, entries]]),
            event.refused.filter((r) => r.namespace === namespace),
            { environment: event.environment },
          );
          // An answer refused whole (not for the question) keeps what is held; polling covers the namespace.
          if (result.refusedAnswers.has(namespace)) slot.lastError = result.refusedAnswers.get(namespace);
          else slots.setStreamed(slot, true, now);
        }
        return event.id;
      default: {
        const namespace = event.type === 'put' ? event.entry.namespace : event.namespace;
        const slot = covered.get(namespace);
        if (slot === undefined) return event.id; // not asked for: the store would refuse it anyway
        slot.store.apply([event.type === 'put' ? { type: 'put', entry: event.entry } : { type: 'delete', namespace, key: event.key }]);
        slots.setStreamed(slot, true, now);
        return event.id;
      }
    }
  }

  /** Resolves after `ms`, or (unless `ignoreChanges`) once the slots of `environment` changed and settled. */
  #waitForChange(environment: Environment, ms: number, ignoreChanges = false): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const timers = [setTimeout(resolve, Math.min(ms, 2 ** 31 - 1))];
    const onChange = (): void => {
      if (!ignoreChanges) timers.push(setTimeout(resolve, SETTLE_MS));
    };
    const onAbort = (): void => resolve();
    this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    this.#changed.set(environment, onChange);
    return promise.finally(() => {
      for (const timer of timers) clearTimeout(timer);
      this.#abort.signal.removeEventListener('abort', onAbort);
      // Only this wait's handler: the next connection may already have registered its own.
      if (this.#changed.get(environment) === onChange) this.#changed.delete(environment);
    });
  }
}
