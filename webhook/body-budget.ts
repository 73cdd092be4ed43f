// Bytes of request bodies held in memory across all requests at once. A request takes
// bytes as they arrive (or its whole Content-Length up front) and gives them back when
// it ends, however it ends. Only a body that declared a small Content-Length (as the
// API server's reviews do: a few KiB) may use the last `headroom` bytes; large and
// chunked bodies may not, so ordinary reviews still get answered while those stall.

export type BudgetLimits = {
  /** Total bytes of bodies in flight. */
  readonly capacity: number;
  /** A body up to this size counts as ordinary and may use the headroom. */
  readonly smallBody: number;
  /** Bytes only ordinary bodies may use. */
  readonly headroom: number;
};

export class BodyBudget {
  readonly #limits: BudgetLimits;
  #used = 0;

  constructor(limits: BudgetLimits) {
    this.#limits = limits;
  }

  get used(): number {
    return this.#used;
  }

  /** One request's share; `take` grows it, `release` gives all of it back (idempotent). */
  open(declaredLength: number | undefined): { take: (bytes: number) => boolean; release: () => void } {
    const { capacity, smallBody, headroom } = this.#limits;
    const limit = declaredLength !== undefined && declaredLength <= smallBody ? capacity : capacity - headroom;
    let held = 0;
    return {
      take: (bytes) => {
        if (this.#used + bytes > limit) return false;
        this.#used += bytes;
        held += bytes;
        return true;
      },
      release: () => {
        this.#used -= held;
        held = 0;
      },
    };
  }
}
