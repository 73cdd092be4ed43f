// The upstream budget: requests start at least 1/rps apart, so no one-second window
// ever holds more than --upstream-rps of them, whatever the demand. A 429 pauses every
// request (upstream rate-limits globally, so one namespace's 429 is everyone's).

export class UpstreamBudget {
  readonly #spacingMs: number;
  #nextAt = 0;
  #pausedUntil = 0;

  constructor(requestsPerSecond: number) {
    // Whole milliseconds, rounded up: 1000/3 in floating point lets a fourth start slip into a window.
    this.#spacingMs = Math.ceil(1000 / requestsPerSecond);
  }

  get spacingMs(): number {
    return this.#spacingMs;
  }

  /** When the next request may start (ms since epoch). */
  nextStartAt(now = Date.now()): number {
    return Math.max(now, this.#nextAt, this.#pausedUntil);
  }

  /** Records a request started now; call only when `nextStartAt() <= now`. */
  take(now = Date.now()): void {
    this.#nextAt = Math.max(now, this.#nextAt) + this.#spacingMs;
  }

  pause(forMs: number, now = Date.now()): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, now + forMs);
  }

  get pausedUntil(): number {
    return this.#pausedUntil;
  }
}
