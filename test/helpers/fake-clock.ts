// A fake clock for the sync engine: `sleep` resolves only when the test advances
// time past it, so loops with minute-long intervals run in microseconds and every
// wait the engine asks for is recorded.

import type { Clock } from '../../src/sync/engine.ts';

type Timer = { at: number; resolve: () => void };

export class FakeClock implements Clock {
  #now = 1_000_000;
  readonly #timers: Timer[] = [];
  /** Every wait asked for, in ms, in order. */
  readonly waits: number[] = [];

  now = (): number => this.#now;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.waits.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.#now + ms, resolve };
      this.#timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.#timers.splice(this.#timers.indexOf(timer), 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  };

  /** Pending sleeps. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Runs every sleep due within `ms`, in time order, letting the awakened code run in between. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (next === undefined || next.at > target) break;
      this.#timers.shift();
      this.#now = next.at;
      next.resolve();
    }
    this.#now = target;
    await settle();
  }

  /**
   * Lets the code run (real timers too, e.g. p-retry's 1 ms) and advances fake time to
   * each sleep due within `horizonMs`, until `done()` or the step budget runs out.
   */
  async runUntil(done: () => boolean, horizonMs = 3_600_000, steps = 2000): Promise<void> {
    for (let i = 0; i < steps && !done(); i++) {
      await new Promise((r) => setTimeout(r, 1));
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (next !== undefined && next.at - this.#now <= horizonMs) await this.advance(next.at - this.#now);
    }
    if (!done()) throw new Error('fake clock: condition not reached');
  }

  /** Advances to the next pending sleep (whatever its length). */
  async next(): Promise<void> {
    await settle();
    this.#timers.sort((a, b) => a.at - b.at);
    const next = this.#timers[0];
    if (next !== undefined) await this.advance(next.at - this.#now);
  }
}

/** Lets pending promise chains and I/O callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
