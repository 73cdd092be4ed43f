// The in-memory configuration: namespace → key → entry, plus a local revision that
// moves once per applied change set. Copy-on-write: a change builds new maps for the
// namespaces it touches and swaps one `view` reference, so any reader holding a view
// (an HTTP answer, a file render, a snapshot write) sees exactly one revision.

import { entryFingerprint, type Entry } from '../central/entry.ts';

export type NamespaceData = ReadonlyMap<string, Entry>;

export type StoreView = {
  readonly revision: number;
  readonly namespaces: ReadonlyMap<string, NamespaceData>;
  /** Wall-clock ms of this revision; 0 before anything was loaded. */
  readonly changedAt: number;
};

export type Change =
  | { readonly type: 'put'; readonly entry: Entry }
  | { readonly type: 'delete'; readonly namespace: string; readonly key: string };

export type RevisionEvent = { readonly view: StoreView; readonly changes: readonly Change[] };
type Listener = (event: RevisionEvent) => void;

export class ConfigStore {
  #view: StoreView;
  #loaded = false;
  readonly #listeners = new Set<Listener>();

  constructor(namespaces: readonly string[]) {
    this.#view = Object.freeze({
      revision: 0,
      changedAt: 0,
      namespaces: new Map(namespaces.map((ns) => [ns, new Map<string, Entry>()])),
    });
  }

  get view(): StoreView {
    return this.#view;
  }

  /** True once data came from a snapshot or a successful sync (even an empty one). */
  get loaded(): boolean {
    return this.#loaded;
  }

  markLoaded(): void {
    this.#loaded = true;
  }

  onRevision(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Replace whole namespaces (a list answer, a stream snapshot); returns what changed. */
  replaceNamespaces(data: ReadonlyMap<string, readonly Entry[]>): readonly Change[] {
    const changes: Change[] = [];
    for (const [namespace, entries] of data) {
      const current = this.#view.namespaces.get(namespace);
      if (current === undefined) continue; // not a namespace this agent serves
      const incoming = new Map(entries.map((e) => [e.key, e]));
      for (const [key, entry] of incoming) {
        const old = current.get(key);
        if (old === undefined || entryFingerprint(old) !== entryFingerprint(entry)) changes.push({ type: 'put', entry });
      }
      for (const key of current.keys()) if (!incoming.has(key)) changes.push({ type: 'delete', namespace, key });
    }
    return this.apply(changes);
  }

  /** Apply puts and deletes as one revision. Changes that change nothing are dropped. */
  apply(changes: readonly Change[]): readonly Change[] {
    this.#loaded = true;
    const touched = new Map<string, Map<string, Entry>>();
    const effective: Change[] = [];
    for (const change of changes) {
      const namespace = change.type === 'put' ? change.entry.namespace : change.namespace;
      const base = touched.get(namespace) ?? this.#view.namespaces.get(namespace);
      if (base === undefined) continue;
      const key = change.type === 'put' ? change.entry.key : change.key;
      const old = base.get(key);
      if (change.type === 'put' && old !== undefined && entryFingerprint(old) === entryFingerprint(change.entry)) continue;
      if (change.type === 'delete' && old === undefined) continue;
      const next = touched.get(namespace) ?? new Map(base);
      if (change.type === 'put') next.set(key, change.entry);
      else next.delete(key);
      touched.set(namespace, next);
      effective.push(change);
    }
    if (effective.length === 0) return effective;
    const namespaces = new Map(this.#view.namespaces);
    for (const [namespace, data] of touched) namespaces.set(namespace, data);
    this.#view = Object.freeze({ revision: this.#view.revision + 1, changedAt: Date.now(), namespaces });
    const event = Object.freeze({ view: this.#view, changes: Object.freeze(effective) });
    for (const listener of this.#listeners) listener(event);
    return event.changes;
  }

  /** Load a saved view (from the snapshot) without treating it as a change from upstream. */
  restore(namespaces: ReadonlyMap<string, readonly Entry[]>, revision: number, changedAt: number): void {
    const restored = new Map(this.#view.namespaces);
    for (const [namespace, entries] of namespaces) {
      if (restored.has(namespace)) restored.set(namespace, new Map(entries.map((e) => [e.key, e])));
    }
    this.#view = Object.freeze({ revision, changedAt, namespaces: restored });
    this.#loaded = true;
  }
}

export function countEntries(view: StoreView): number {
  let n = 0;
  for (const data of view.namespaces.values()) n += data.size;
  return n;
}
