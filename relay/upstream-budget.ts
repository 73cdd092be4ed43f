// The upstream budget: requests leave at least 1/rps apart, so no one-second window
// ever holds more than --upstream-rps of them, whatever the demand. A 429 pauses every
// request (upstream rate-limits globally, so one namespace's 429 is everyone's).
//
// Two places use it. The scheduler plans with `nextStartAt`/`take` (which slot is due,
// how far the interval stretches). The central client calls `acquire` right before each
// request is handed to the connection pool: planning alone does not bound the wire,
// since the time between planning and sending varies (event-loop lag in a cold-read
// storm, a token re-read, a retry after 401), and two planned 200 ms apart can leave
// 117 ms apart. `acquire` spaces actual sends, in arrival order.

import { setTimeout as sleepFor } from 'node:timers/promises';

export type BudgetClock = { now(): number; sleep(ms: number, signal?: AbortSignal): Promise<void> };

const realClock: BudgetClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepFor(ms, undefined, { signal }),
};

export class UpstreamBudget {
  readonly #spacingMs: number;
  readonly #clock: BudgetClock;
  #nextAt = 0;
  #pausedUntil = 0;
  #lastSentAt = Number.NEGATIVE_INFINITY;
  #queue: Promise<void> = Promise.resolve();

  constructor(requestsPerSecond: number, clock: BudgetClock = realClock) {
    // Whole milliseconds, rounded up: 1000/3 in floating point lets a fourth start slip into a window.
    this.#spacingMs = Math.ceil(1000 / requestsPerSecond);
    this.#clock = clock;
  }

  get spacingMs(): number {
    return this.#spacingMs;
  }

  /** When the next request may start (ms since epoch). */
  nextStartAt(now = Date.now()): number {
    return Math.max(now, this.#nextAt, this.#pausedUntil);
  }

  /** Records a request planned now; call only when `nextStartAt() <= now`. */
  take(now = Date.now()): void {
    this.#nextAt = Math.max(now, this.#nextAt) + this.#spacingMs;
  }

  /** Resolves when a request may be sent now, and counts it as sent; waiters go in arrival order. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#waitTurn(signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #waitTurn(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#clock.now();
      const at = Math.max(this.#lastSentAt + this.#spacingMs, this.#pausedUntil);
      if (at <= now) {
        this.#lastSentAt = now;
        return;
      }
      await this.#clock.sleep(at - now, signal);
    }
  }

  pause(forMs: number, now = Date.now()): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, now + forMs);
  }

  get pausedUntil(): number {
    return this.#pausedUntil;
  }
}
