// At most N exchanges on the wire at once, the rest waiting here rather than in Node's
// http.Agent: a request queued inside the agent cannot be taken back (destroying it does
// nothing until a socket frees, and then the agent opens one for it), so an abort, a
// deadline or close() could not end it. Here a waiting exchange leaves the queue at once.

export class ConnectionSlots {
  #free: number;
  readonly #waiting = new Set<{ grant: () => void; refuse: (reason: unknown) => void }>();
  #closedReason: unknown;

  constructor(slots: number) {
    this.#free = slots;
  }

  /** Resolves with the slot's release function; rejects on the signal's abort or on close(). */
  acquire(signal: AbortSignal | undefined): Promise<() => void> {
    if (this.#closedReason !== undefined) return Promise.reject(this.#closedReason);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiting.delete(waiter);
        reject(signal?.reason);
      };
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#releaser());
        },
        refuse: (reason: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(reason);
        },
      };
      this.#waiting.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Refuses every waiting and later acquire with `reason`. */
  close(reason: unknown): void {
    this.#closedReason = reason;
    for (const waiter of this.#waiting) waiter.refuse(reason);
    this.#waiting.clear();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.values().next();
      if (next.done) this.#free++;
      else {
        this.#waiting.delete(next.value);
        next.value.grant();
      }
    };
  }
}
