// Keeps the store in sync with the central API. Stream first (SSE watch with
// Last-Event-ID resume and a heartbeat budget); when the server has no watch, poll
// with ±10 % jitter and conditional requests, probing for the stream again at every
// full resync. Every failure backs off with full jitter; data already held keeps
// being served throughout.

import { errorCode, describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SyncMetrics } from '../metrics.ts';
import type { CentralClient } from '../central/client.ts';
import { retryWithBackoff, sleep, type BackoffPolicy } from '../backoff.ts';
import type { SyncCursor } from '../snapshot.ts';
import type { ConfigStore } from './store.ts';
import { consumeWatchStream, type WatchEvent } from './sse-consumer.ts';
import { cycleFailure, describeFailures, pollAllNamespaces, type PollOutcome } from './poll-cycle.ts';

export type SyncMode = 'stream' | 'poll';

export type SyncEngineOptions = {
  readonly client: CentralClient;
  readonly store: ConfigStore;
  readonly namespaces: readonly string[];
  readonly mode: SyncMode;
  readonly pollIntervalMs: number;
  readonly resyncIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** A stream connection that lasted this long resets the backoff. */
  readonly healthyAfterMs: number;
  readonly backoff: BackoffPolicy;
  readonly maxEventBytes: number;
  readonly logger: Logger;
  readonly metrics: SyncMetrics;
  readonly cursor?: SyncCursor | undefined;
};

export type SyncStatus = {
  readonly configuredMode: SyncMode;
  readonly activeMode: SyncMode | 'stopped';
  readonly connected: boolean;
  readonly streamSupported: boolean | undefined;
  readonly lastSuccessAt: number | undefined;
  readonly lastAttemptAt: number | undefined;
  readonly lastError: string | undefined;
  readonly namespaceErrors: Readonly<Record<string, string>>;
  readonly lastEventId: string | undefined;
};

export class SyncEngine {
  readonly #o: SyncEngineOptions;
  readonly #abort = new AbortController();
  readonly #etags: Map<string, string>;
  #lastEventId: string | undefined;
  #status: Omit<SyncStatus, 'lastEventId'>;
  #loop: Promise<void> | undefined;
  #crashed: string | undefined;

  constructor(options: SyncEngineOptions) {
    this.#o = options;
    this.#etags = new Map(Object.entries(options.cursor?.etags ?? {}));
    this.#lastEventId = options.cursor?.lastEventId;
    this.#status = {
      configuredMode: options.mode,
      activeMode: options.mode,
      connected: false,
      streamSupported: undefined,
      lastSuccessAt: options.cursor?.lastSuccessAt,
      lastAttemptAt: undefined,
      lastError: undefined,
      namespaceErrors: {},
    };
  }

  /** Why the sync loop died, if it did (for /healthz); undefined while it runs. */
  get crashed(): string | undefined {
    return this.#crashed;
  }

  /** ms since epoch of the last successful sync; cheap, for the per-request staleness check. */
  get lastSuccessAt(): number | undefined {
    return this.#status.lastSuccessAt;
  }

  status(): SyncStatus {
    return { ...this.#status, lastEventId: this.#lastEventId };
  }

  cursor(): SyncCursor {
    return { etags: Object.fromEntries(this.#etags), lastEventId: this.#lastEventId, lastSuccessAt: this.#status.lastSuccessAt };
  }

  start(initialDelayMs = 0): void {
    this.#loop ??= this.#run(initialDelayMs).catch((error) => {
      if (this.#abort.signal.aborted) return;
      this.#crashed = describeError(error);
      this.#o.logger.error({ err: this.#crashed }, 'sync loop stopped unexpectedly');
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort(new Error('sync stopped'));
    await this.#loop;
    this.#set({ activeMode: 'stopped', connected: false });
    this.#o.metrics.streamConnected.set(0);
  }

  /** One list request per namespace, applied as one revision; bookkeeping for status and metrics. */
  async syncOnce(signal: AbortSignal = this.#abort.signal): Promise<PollOutcome> {
    const { metrics, store, client, namespaces } = this.#o;
    const endTimer = metrics.syncDuration.startTimer();
    this.#set({ lastAttemptAt: Date.now() });
    const outcome = await pollAllNamespaces(client, store, namespaces, this.#etags, signal);
    endTimer();
    const failure = cycleFailure(outcome);
    if (outcome.failed.size === 0) {
      metrics.syncTotal.inc({ result: outcome.changed > 0 ? 'ok' : 'not_modified' });
      this.#markSuccess();
      this.#set({ lastError: undefined, namespaceErrors: {} });
    } else {
      metrics.syncTotal.inc({ result: errorCode(failure) === 'LLMC_ERR_CENTRAL_RATE_LIMITED' ? 'rate_limited' : 'error' });
      this.#set({ lastError: describeError(failure ?? outcome.failed.values().next().value), namespaceErrors: describeFailures(outcome) });
    }
    if (outcome.changed > 0) this.#o.logger.info({ changes: outcome.changed, revision: store.view.revision }, 'applied changes from poll');
    return outcome;
  }

  async #run(initialDelayMs: number): Promise<void> {
    const signal = this.#abort.signal;
    await sleep(initialDelayMs, signal);
    if (this.#o.mode === 'poll') return this.#pollLoop(Number.POSITIVE_INFINITY);
    while (!signal.aborted) {
      try {
        await this.#streamLoop();
      } catch (error) {
        if (signal.aborted) return;
        if (errorCode(error) !== 'LLMC_ERR_STREAM_UNSUPPORTED') throw error;
        this.#set({ streamSupported: false, activeMode: 'poll' });
        this.#o.logger.warn({ reason: describeError(error), retryStreamIn: this.#o.resyncIntervalMs }, 'no watch stream; polling');
        await this.#pollLoop(this.#o.resyncIntervalMs);
      }
    }
  }

  /** Polls until `forMs` has passed (then the caller probes the stream again), or forever. */
  async #pollLoop(forMs: number): Promise<void> {
    const signal = this.#abort.signal;
    const until = Date.now() + forMs;
    const random = this.#o.backoff.random ?? Math.random;
    while (!signal.aborted && Date.now() < until) {
      await retryWithBackoff(
        async () => {
          const failure = cycleFailure(await this.syncOnce(signal));
          if (failure !== undefined) throw failure;
        },
        { policy: this.#o.backoff, signal, onRetry: (error, attempt, delay) => this.#logRetry('poll', error, attempt, delay) },
      );
      await sleep(Math.round(this.#o.pollIntervalMs * (0.9 + 0.2 * random())), signal);
    }
  }

  /** Runs the stream with reconnects; returns never, rejects with STREAM_UNSUPPORTED to fall back. */
  async #streamLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const resync = setInterval(() => {
      this.syncOnce().catch((error) => this.#o.logger.warn({ err: describeError(error) }, 'periodic resync failed'));
    }, this.#o.resyncIntervalMs);
    try {
      while (!signal.aborted) {
        // Each retryWithBackoff run starts at attempt 1: a healthy connection resets backoff.
        await retryWithBackoff((attempt) => this.#connectOnce(attempt), {
          policy: this.#o.backoff,
          signal,
          shouldRetry: (error) => errorCode(error) !== 'LLMC_ERR_STREAM_UNSUPPORTED',
          onRetry: (error, attempt, delay) => this.#logRetry('stream', error, attempt, delay),
        });
      }
    } finally {
      clearInterval(resync);
    }
  }

  async #connectOnce(attempt: number): Promise<void> {
    const { client, namespaces, logger, metrics } = this.#o;
    const signal = this.#abort.signal;
    this.#set({ lastAttemptAt: Date.now() });
    const body = await client.openWatch(namespaces, this.#lastEventId, signal);
    const connectedAt = Date.now();
    this.#set({ connected: true, streamSupported: true, activeMode: 'stream' });
    metrics.streamConnected.set(1);
    logger.info({ attempt, resumeFrom: this.#lastEventId ?? null }, 'watch stream connected');
    const abortBody = (): void => void body.destroy();
    signal.addEventListener('abort', abortBody, { once: true });
    let failure: unknown;
    try {
      await consumeWatchStream(body, {
        heartbeatTimeoutMs: this.#o.heartbeatTimeoutMs,
        maxEventBytes: this.#o.maxEventBytes,
        onEvent: (event) => this.#applyWatchEvent(event),
      });
    } catch (error) {
      failure = error;
    } finally {
      signal.removeEventListener('abort', abortBody);
      this.#set({ connected: false });
      metrics.streamConnected.set(0);
    }
    if (signal.aborted) throw signal.reason;
    const healthy = Date.now() - connectedAt >= this.#o.healthyAfterMs;
    logger.warn({ err: failure ? describeError(failure) : 'server ended the stream', healthy }, 'watch stream disconnected');
    this.#set({ lastError: failure ? describeError(failure) : 'watch stream ended by the server' });
    if (!healthy) throw failure ?? new Error('watch stream ended by the server');
  }

  #applyWatchEvent(event: WatchEvent): void {
    const { store, logger } = this.#o;
    if (event.type === 'ping') {
      this.#markSuccess();
      return;
    }
    const changes =
      event.type === 'snapshot'
        ? store.replaceNamespaces(event.namespaces)
        : store.apply([
            event.type === 'put' ? { type: 'put', entry: event.entry } : { type: 'delete', namespace: event.namespace, key: event.key },
          ]);
    if (event.type === 'snapshot') store.markLoaded();
    if (event.id !== undefined) this.#lastEventId = event.id;
    this.#markSuccess();
    this.#set({ lastError: undefined, namespaceErrors: {} });
    if (changes.length > 0)
      logger.info({ event: event.type, changes: changes.length, revision: store.view.revision }, 'applied changes from stream');
  }

  #markSuccess(): void {
    const now = Date.now();
    this.#set({ lastSuccessAt: now });
    this.#o.metrics.lastSyncTimestamp.set(now / 1000);
  }

  #logRetry(loop: string, error: unknown, attempt: number, delayMs: number): void {
    this.#set({ lastError: describeError(error) });
    this.#o.logger.warn({ loop, attempt, delayMs, code: errorCode(error), err: describeError(error) }, 'sync failed; backing off');
  }

  #set(patch: Partial<Omit<SyncStatus, 'lastEventId'>>): void {
    this.#status = { ...this.#status, ...patch };
  }
}
