// A bounded log of watch events by revision, for Last-Event-ID resume. A client whose
// id the log no longer reaches back to, or one from the future (another server
// lifetime or replica), cannot resume: the caller sends a fresh snapshot instead.

export class EventLog<E extends { readonly revision: number }> {
  readonly #events: E[] = [];
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(event: E): void {
    this.#events.push(event);
    if (this.#events.length > this.#limit) this.#events.splice(0, this.#events.length - this.#limit);
  }

  /** Events after `revision` that pass `wanted`, or undefined when resuming from there is impossible. */
  since(revision: number, current: number, wanted: (event: E) => boolean): E[] | undefined {
    if (revision > current) return undefined;
    const oldest = this.#events[0]?.revision ?? current + 1;
    if (revision < oldest - 1) return undefined;
    return this.#events.filter((e) => e.revision > revision && wanted(e));
  }

  find(revision: number): E | undefined {
    return this.#events.find((e) => e.revision === revision);
  }
}
