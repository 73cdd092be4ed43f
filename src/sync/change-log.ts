// A bounded memory of recent revisions and the keys they touched, for local watchers:
// long-poll and SSE clients resume from a revision, and learn what changed without
// being sent any value. When the log no longer reaches back, they are told to reload.

import type { ConfigStore, Change } from '../store/config-store.ts';

export type ChangeSummary = { readonly type: 'put' | 'delete'; readonly namespace: string; readonly key: string };
export type RevisionRecord = { readonly revision: number; readonly changes: readonly ChangeSummary[] };

export function summariseChange(change: Change): ChangeSummary {
  return change.type === 'put'
    ? { type: 'put', namespace: change.entry.namespace, key: change.entry.key }
    : { type: 'delete', namespace: change.namespace, key: change.key };
}

export class ChangeLog {
  readonly #records: RevisionRecord[] = [];
  readonly #limit: number;
  readonly #waiters = new Set<(record: RevisionRecord) => void>();

  constructor(store: ConfigStore, limit = 1000) {
    this.#limit = limit;
    store.onRevision(({ view, changes }) => {
      const record = { revision: view.revision, changes: changes.map(summariseChange) };
      this.#records.push(record);
      if (this.#records.length > this.#limit) this.#records.shift();
      for (const waiter of this.#waiters) waiter(record);
    });
  }

  /** Revisions after `revision`, or undefined when the log does not reach back that far. */
  since(revision: number, current: number): RevisionRecord[] | undefined {
    if (revision >= current) return [];
    const first = this.#records[0];
    if (first === undefined || first.revision > revision + 1) return undefined;
    return this.#records.filter((r) => r.revision > revision);
  }

  subscribe(listener: (record: RevisionRecord) => void): () => void {
    this.#waiters.add(listener);
    return () => this.#waiters.delete(listener);
  }
}
