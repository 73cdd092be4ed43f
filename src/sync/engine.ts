// Keeps the store in sync with the central API. Stream first (SSE watch with
// Last-Event-ID resume and a heartbeat budget); when the server has no watch, poll
// with ±10 % jitter and conditional requests, probing for the stream again at every
// full resync. Every failure backs off with jitter, never faster than the base; a
// 429 also stretches the poll interval for a while (pacing.ts). Data already held
// keeps being served throughout. Time comes from an injectable clock so tests run
// the loops without waiting.

import { errorCode, describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SyncMetrics } from './sync-metrics.ts';
import type { CentralClient } from '../central/client.ts';
import type { Environment } from '../environments.ts';
import { retryDelayMs, retryWithBackoff, sleep, type BackoffPolicy } from './backoff.ts';
import type { SyncCursor } from '../snapshot/snapshot.ts';
import type { Change, ConfigStore } from '../store/config-store.ts';
import { consumeWatchStream, isUsableEventId, type WatchEvent } from './sse-consumer.ts';
import { cycleFailure, describeFailures, pollAllNamespaces, type PollOutcome } from './poll-cycle.ts';
import { Pacing, type PacingState } from './pacing.ts';

export type SyncMode = 'stream' | 'poll';

/** The longest gap between two requests of a spread poll cycle (after a 429). */
const MAX_SPREAD_GAP_MS = 1000;

export type Clock = {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
};

export const systemClock: Clock = { now: () => Date.now(), sleep };

export type SyncEngineOptions = {
  readonly client: CentralClient;
  readonly store: ConfigStore;
  readonly namespaces: readonly string[];
  /** The environment asked for; the client's own when unset. */
  readonly environment?: Environment | undefined;
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
  readonly clock?: Clock;
  /**
   * The kept event id was dropped (an id that cannot be a header came): the saved
   * cursor must follow now, not at the next revision, or a restart resumes from it.
   */
  readonly onCursorDropped?: () => void;
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
  readonly pacing: PacingState;
};

type OwnStatus = Omit<SyncStatus, 'lastEventId' | 'pacing'>;

export class SyncEngine {
  readonly #o: SyncEngineOptions;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  readonly #etags: Map<string, string>;
  readonly #pacing: Pacing;
  #lastEventId: string | undefined;
  #status: OwnStatus;
  #loop: Promise<void> | undefined;
  #crashed: string | undefined;
  /** Whether an unusable event id was already logged (log once, not once per event). */
  #droppedId = false;

  constructor(options: SyncEngineOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#etags = new Map(Object.entries(options.cursor?.etags ?? {}));
    this.#pacing = new Pacing(options.pollIntervalMs);
    // A cursor restored from a snapshot is server text too: an unusable id is not resumed from.
    this.#lastEventId = isUsableEventId(options.cursor?.lastEventId) ? options.cursor?.lastEventId : undefined;
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
    options.metrics.effectiveInterval.set(this.#pacing.effectiveIntervalMs / 1000);
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
    return { ...this.#status, lastEventId: this.#lastEventId, pacing: this.#pacing.state };
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

  /**
   * One list request per namespace, applied as one revision; bookkeeping for status,
   * metrics and pacing. `spread`: while a 429 is remembered, the requests go one at a
   * time over half the effective interval, at most 1 s apart (the poll loop asks for it).
   */
  async syncOnce(signal: AbortSignal = this.#abort.signal, spread = false): Promise<PollOutcome> {
    const { metrics, store, client, namespaces } = this.#o;
    const endTimer = metrics.syncDuration.startTimer();
    this.#set({ lastAttemptAt: this.#clock.now() });
    const pace = this.#pacing.state;
    // At most MAX_SPREAD_GAP_MS apart: enough for upstream's bucket to refill between bursts, not minutes of lag.
    const gapMs =
      spread && pace.floorIntervalMs > this.#o.pollIntervalMs
        ? Math.min(MAX_SPREAD_GAP_MS, pace.effectiveIntervalMs / (2 * namespaces.length))
        : 0;
    const spacing = { gapMs: Math.round(gapMs), sleep: this.#clock.sleep };
    const outcome = await pollAllNamespaces(client, store, namespaces, this.#etags, signal, this.#o.environment, spacing);
    endTimer();
    const failure = cycleFailure(outcome);
    const rateLimited = errorCode(failure) === 'LLMC_ERR_CENTRAL_RATE_LIMITED';
    this.#pacing.record(rateLimited, this.#clock.now());
    metrics.effectiveInterval.set(this.#pacing.effectiveIntervalMs / 1000);
    if (outcome.failed.size === 0) {
      metrics.syncTotal.inc({ result: outcome.changed > 0 ? 'ok' : 'not_modified' });
      this.#markSuccess();
      this.#set({ lastError: undefined, namespaceErrors: {} });
    } else {
      metrics.syncTotal.inc({ result: rateLimited ? 'rate_limited' : 'error' });
      this.#set({ lastError: describeError(failure ?? outcome.failed.values().next().value), namespaceErrors: describeFailures(outcome) });
    }
    if (outcome.changed > 0) this.#o.logger.info({ changes: outcome.changed, revision: store.view.revision }, 'applied changes from poll');
    return outcome;
  }

  async #run(initialDelayMs: number): Promise<void> {
    const signal = this.#abort.signal;
    await this.#clock.sleep(initialDelayMs, signal);
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

  /**
   * Polls until `forMs` has passed (then the caller probes the stream again), or
   * forever. After a clean cycle: the effective interval ±10 %. After a failure:
   * backoff (≥ base). After a 429: the longer of the stretched interval and the
   * backoff (which honours Retry-After within [base, 1 h]).
   */
  async #pollLoop(forMs: number): Promise<void> {
    const signal = this.#abort.signal;
    const until = this.#clock.now() + forMs;
    let failures = 0;
    while (!signal.aborted && this.#clock.now() < until) {
      // A spread cycle (after a 429) adds its spread to the period: slower, never faster, near the limit.
      const failure = cycleFailure(await this.syncOnce(signal, true));
      const interval = this.#jittered(this.#pacing.effectiveIntervalMs);
      let wait = interval;
      if (failure !== undefined) {
        failures++;
        const backoff = retryDelayMs(this.#o.backoff, failures, failure);
        wait = errorCode(failure) === 'LLMC_ERR_CENTRAL_RATE_LIMITED' ? Math.max(interval, backoff) : backoff;
        this.#logRetry('poll', failure, failures, wait);
      } else failures = 0;
      await this.#clock.sleep(wait, signal);
    }
  }

  #jittered(ms: number): number {
    const random = this.#o.backoff.random ?? Math.random;
    return Math.round(ms * (0.9 + 0.2 * random()));
  }

  /** Full resyncs while the stream runs, paced like polls (a 429 stretches them too). */
  async #resyncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const factor = this.#pacing.state.factor;
      await this.#clock.sleep(this.#o.resyncIntervalMs * factor, signal).catch(() => undefined);
      if (signal.aborted) return;
      await this.syncOnce(signal).catch((error) => this.#o.logger.warn({ err: describeError(error) }, 'periodic resync failed'));
    }
  }

  /** Runs the stream with reconnects; returns never, rejects with STREAM_UNSUPPORTED to fall back. */
  async #streamLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const resyncStop = new AbortController();
    const resync = this.#resyncLoop(AbortSignal.any([signal, resyncStop.signal]));
    try {
      while (!signal.aborted) {
        // Each retryWithBackoff run starts at attempt 1: a healthy connection resets backoff.
        await retryWithBackoff((attempt) => this.#connectOnce(attempt), {
          policy: this.#o.backoff,
          signal,
          sleep: this.#clock.sleep,
          shouldRetry: (error) => errorCode(error) !== 'LLMC_ERR_STREAM_UNSUPPORTED',
          onRetry: (error, attempt, delay) => this.#logRetry('stream', error, attempt, delay),
        });
      }
    } finally {
      resyncStop.abort();
      await resync;
    }
  }

  async #connectOnce(attempt: number): Promise<void> {
    const { client, namespaces, logger, metrics } = this.#o;
    const signal = this.#abort.signal;
    this.#set({ lastAttemptAt: this.#clock.now() });
    const body = await client.openWatch(namespaces, this.#lastEventId, signal, this.#o.environment);
    const connectedAt = this.#clock.now();
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
    const healthy = this.#clock.now() - connectedAt >= this.#o.healthyAfterMs;
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
    let changes: readonly Change[] = [];
    if (event.type === 'snapshot') {
      const result = store.replaceChecked(event.namespaces, event.refused, { environment: event.environment });
      changes = result.changes;
      if (result.refusedAnswers.size > 0) {
        // Not an answer to the question: not a success, and its id is no place to resume from.
        const namespaceErrors = Object.fromEntries(result.refusedAnswers);
        this.#set({ lastError: result.refusedAnswers.values().next().value, namespaceErrors });
        if (changes.length > 0)
          logger.info({ event: event.type, changes: changes.length, revision: store.view.revision }, 'applied changes from stream');
        return;
      }
    } else if (event.type === 'refused') store.reportRefusal(event.refusal);
    else
      changes = store.apply([
        event.type === 'put' ? { type: 'put', entry: event.entry } : { type: 'delete', namespace: event.namespace, key: event.key },
      ]);
    this.#keepEventId(event.id);
    this.#markSuccess();
    this.#set({ lastError: undefined, namespaceErrors: {} });
    if (changes.length > 0)
      logger.info({ event: event.type, changes: changes.length, revision: store.view.revision }, 'applied changes from stream');
  }

  /** An id that cannot be sent back as Last-Event-ID is dropped: the next reconnect gets a fresh snapshot. */
  #keepEventId(id: string | undefined): void {
    if (id === undefined) return;
    if (isUsableEventId(id)) {
      this.#lastEventId = id;
      return;
    }
    if (this.#lastEventId !== undefined || !this.#droppedId) {
      this.#o.logger.warn(
        { length: id.length },
        'event id not usable as Last-Event-ID (not Latin-1 text, control characters or over 256 characters); not kept',
      );
    }
    this.#droppedId = true;
    const dropped = this.#lastEventId !== undefined;
    this.#lastEventId = undefined;
    if (dropped) this.#o.onCursorDropped?.();
  }

  #markSuccess(): void {
    const now = this.#clock.now();
    this.#set({ lastSuccessAt: now });
    this.#o.metrics.lastSyncTimestamp.set(now / 1000);
  }

  #logRetry(loop: string, error: unknown, attempt: number, delayMs: number): void {
    this.#set({ lastError: describeError(error) });
    this.#o.logger.warn({ loop, attempt, delayMs, code: errorCode(error), err: describeError(error) }, 'sync failed; backing off');
  }

  #set(patch: Partial<OwnStatus>): void {
    this.#status = { ...this.#status, ...patch };
  }
}
