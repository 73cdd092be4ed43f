// Adaptive poll pacing: the agent's answer to "429 Too Many Requests". Upstream rate
// limits per IP and globally and bans an IP after repeated violations, and a fleet
// that resets its backoff after each success keeps arriving too fast. So a 429
// multiplies the effective interval (×2, up to one hour) and the slowdown is kept:
// for HOLD_MS after the last 429 nothing changes, then each clean cycle takes 10 % of
// the excess off. Multiplicative increase, slow decrease: a fleet over budget
// converges under it instead of oscillating into a ban.

export const PACE_HOLD_MS = 5 * 60_000;
export const MAX_INTERVAL_MS = 3_600_000;
const INCREASE = 2;
const DECREASE_SHARE = 0.1;

export type PacingState = {
  /** Effective interval ÷ configured interval; 1 when not slowed down. */
  readonly factor: number;
  readonly effectiveIntervalMs: number;
  /** ms since epoch of the last 429, undefined when none was seen. */
  readonly lastRateLimitedAt: number | undefined;
};

export class Pacing {
  readonly #intervalMs: number;
  #factor = 1;
  #lastRateLimitedAt: number | undefined;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  get state(): PacingState {
    return { factor: this.#factor, effectiveIntervalMs: this.effectiveIntervalMs, lastRateLimitedAt: this.#lastRateLimitedAt };
  }

  get effectiveIntervalMs(): number {
    return Math.min(MAX_INTERVAL_MS, Math.round(this.#intervalMs * this.#factor));
  }

  /** After a cycle: `rateLimited` when any request of it got a 429. */
  record(rateLimited: boolean, now: number): void {
    if (rateLimited) {
      this.#lastRateLimitedAt = now;
      this.#factor = Math.min(this.#factor * INCREASE, Math.max(1, MAX_INTERVAL_MS / this.#intervalMs));
      return;
    }
    if (this.#factor === 1 || (this.#lastRateLimitedAt !== undefined && now - this.#lastRateLimitedAt < PACE_HOLD_MS)) return;
    this.#factor = Math.max(1, this.#factor - (this.#factor - 1) * DECREASE_SHARE);
    if (this.#factor < 1.01) this.#factor = 1;
  }
}
