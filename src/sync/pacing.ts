// Adaptive poll pacing: the agent's answer to "429 Too Many Requests". Upstream rate
// limits per IP and globally and bans an IP after 10 violations, and agents behind
// one IP share its budget without knowing of each other. So:
//   - a 429 doubles the effective interval (up to one hour);
//   - the rate that drew it is remembered: the interval never relaxes below it plus
//     25 % for 30 minutes, then the margin decays (half-life 30 minutes) towards 5 %,
//     never to the exact rate that drew the 429; 24 h without a 429 forget it;
//   - for 5 minutes after a 429 nothing relaxes, then the interval shrinks slowly and
//     additively (a tenth of the configured interval per minute), not by halves.
// Each 429 after a clean cycle happens at a rate the fleet had not been refused at
// (the floor keeps every agent above its last one), so every further 429 raises some
// agent's floor: a fleet over budget converges under it and stays there, instead of
// relaxing back into the limit every few minutes.

export const PACE_HOLD_MS = 5 * 60_000;
export const FLOOR_HOLD_MS = 30 * 60_000;
export const FLOOR_FORGET_MS = 24 * 3_600_000;
export const MAX_INTERVAL_MS = 3_600_000;
const INCREASE = 2;
const FLOOR_MARGIN = 0.5;
const FLOOR_MARGIN_LONG = 0.1;
/** Relaxation, in units of the configured interval per minute of clean cycles. */
const RELAX_PER_MINUTE = 0.1;

export type PacingState = {
  /** Effective interval ÷ configured interval; 1 when not slowed down. */
  readonly factor: number;
  readonly effectiveIntervalMs: number;
  /** ms since epoch of the last 429, undefined when none was seen. */
  readonly lastRateLimitedAt: number | undefined;
  /** The interval does not relax below this (the rate of the last 429 plus a margin); the configured one when none. */
  readonly floorIntervalMs: number;
};

export class Pacing {
  readonly #intervalMs: number;
  readonly #maxFactor: number;
  #factor = 1;
  #lastRateLimitedAt: number | undefined;
  /** The factor at which the first 429 of the last run of 429s came. */
  #refusedFactor: number | undefined;
  #lastCycleLimited = false;
  #lastRecordAt: number | undefined;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
    this.#maxFactor = Math.max(1, MAX_INTERVAL_MS / intervalMs);
  }

  get state(): PacingState {
    const now = this.#lastRecordAt ?? 0;
    return {
      factor: this.#factor,
      effectiveIntervalMs: this.effectiveIntervalMs,
      lastRateLimitedAt: this.#lastRateLimitedAt,
      floorIntervalMs: this.#ms(this.#floor(now)),
    };
  }

  get effectiveIntervalMs(): number {
    return this.#ms(this.#factor);
  }

  /** After a cycle: `rateLimited` when any request of it got a 429. */
  record(rateLimited: boolean, now: number): void {
    const elapsed = now - (this.#lastRecordAt ?? now);
    this.#lastRecordAt = now;
    if (rateLimited) {
      // Consecutive 429s (a spike) keep the rate of the first: a floor from the doubled ones would overshoot.
      if (!this.#lastCycleLimited) this.#refusedFactor = this.#factor;
      this.#lastCycleLimited = true;
      this.#lastRateLimitedAt = now;
      this.#factor = Math.min(this.#factor * INCREASE, this.#maxFactor);
      return;
    }
    this.#lastCycleLimited = false;
    if (this.#lastRateLimitedAt !== undefined && now - this.#lastRateLimitedAt < PACE_HOLD_MS) return;
    const relaxed = this.#factor - (RELAX_PER_MINUTE * elapsed) / 60_000;
    this.#factor = Math.max(this.#floor(now), relaxed);
  }

  /** The lowest factor allowed at `now`: above the rate of the last 429 while it is remembered. */
  #floor(now: number): number {
    if (this.#refusedFactor === undefined || this.#lastRateLimitedAt === undefined) return 1;
    const since = now - this.#lastRateLimitedAt;
    if (since >= FLOOR_FORGET_MS) return 1;
    const decay = since <= FLOOR_HOLD_MS ? 1 : 0.5 ** ((since - FLOOR_HOLD_MS) / FLOOR_HOLD_MS);
    const margin = FLOOR_MARGIN_LONG + (FLOOR_MARGIN - FLOOR_MARGIN_LONG) * decay;
    return Math.min(this.#maxFactor, Math.max(1, this.#refusedFactor * (1 + margin)));
  }

  #ms(factor: number): number {
    return Math.min(MAX_INTERVAL_MS, Math.round(this.#intervalMs * factor));
  }
}
