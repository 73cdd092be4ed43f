// The in-memory configuration as a small state machine: namespace → key → entry, the
// set of namespaces loaded, and a local revision. Invariants (SPEC §4), kept here and
// nowhere else:
//   - loaded is per namespace: only a successful answer for it (list, stream
//     snapshot) or a restored snapshot loads it; an empty change set loads nothing;
//   - never back in time, per key: for the id held, a lower version is stale; an id
//     that left the key (replaced by another id, or deleted) never comes back at the
//     version it left with or lower (upstream never revives an id);
//   - answers are checked against the question: an answer for a namespace that holds
//     an entry of another namespace or environment (or a stream snapshot of another
//     environment) is refused as a whole, so it can neither load nor empty anything;
//   - one entry per key per answer: duplicates keep the highest version (then id);
//   - no data before load: a put for a namespace that has not loaded is not kept (its
//     first full answer carries it), so files, HTTP and snapshot agree;
//   - a restored snapshot goes through the same checks as an answer;
//   - one revision per applied batch: entries and loaded set move together.
// Copy-on-write: a batch builds new maps for what it touches and swaps one `view`
// reference, so any reader holding a view sees exactly one revision.

import { entryFingerprint, type Entry, type Refusal } from '../central/entry.ts';
import { canonicalEnvironment } from '../environments.ts';

export type NamespaceData = ReadonlyMap<string, Entry>;

export type StoreView = {
  readonly revision: number;
  readonly namespaces: ReadonlyMap<string, NamespaceData>;
  /** Namespaces that have data from a successful answer or a snapshot. */
  readonly loaded: ReadonlySet<string>;
  /** Wall-clock ms of this revision; 0 before anything was loaded. */
  readonly changedAt: number;
};

export type Change =
  | { readonly type: 'put'; readonly entry: Entry }
  | { readonly type: 'delete'; readonly namespace: string; readonly key: string };

export type RevisionEvent = { readonly view: StoreView; readonly changes: readonly Change[] };

/** What a whole-namespace answer says about itself, checked against the question. */
export type AnswerContext = {
  /** The environment a stream snapshot says it is for (`environment` field); unset when it does not say. */
  readonly environment?: string | undefined;
};

export type ReplaceResult = {
  readonly changes: readonly Change[];
  /** Namespaces whose answer was refused as a whole (not for the question): nothing changed, not loaded. */
  readonly refusedAnswers: ReadonlyMap<string, string>;
};

/** An id that left a key (replaced or deleted) and the version it left with: never taken again at that version or lower. */
export type RetiredId = { readonly namespace: string; readonly key: string; readonly id: string; readonly version: number };

export type StoreOptions = {
  /** Entries of any other environment are refused. Unset: not checked (tests, tools). */
  readonly environment?: string | undefined;
  /** Namespaces whose source tracks readiness itself (Vault): counted as loaded. */
  readonly selfManaged?: readonly string[];
  readonly now?: () => number;
};

/** Ids that left the store (replaced or deleted) remembered for the stale check; oldest forgotten first. */
export const RETIRED_IDS_KEPT = 10_000;

export class ConfigStore {
  #view: StoreView;
  readonly #environment: string | undefined;
  readonly #selfManaged: ReadonlySet<string>;
  readonly #now: () => number;
  /** retiredKey → the id's entry fields and the version it left with; insertion order = oldest first. */
  readonly #retired = new Map<string, RetiredId>();
  readonly #listeners = new Set<(event: RevisionEvent) => void>();
  readonly #refusalListeners = new Set<(refusal: Refusal) => void>();

  constructor(namespaces: readonly string[], options: StoreOptions = {}) {
    this.#environment = options.environment;
    this.#selfManaged = new Set(options.selfManaged ?? []);
    this.#now = options.now ?? Date.now;
    this.#view = Object.freeze({
      revision: 0,
      changedAt: 0,
      loaded: new Set<string>(),
      namespaces: new Map(namespaces.map((ns) => [ns, new Map<string, Entry>()])),
    });
  }

  get view(): StoreView {
    return this.#view;
  }

  /** True once every namespace has loaded (the readiness rule). */
  get loaded(): boolean {
    for (const ns of this.#view.namespaces.keys()) if (!this.isLoaded(ns)) return false;
    return true;
  }

  isLoaded(namespace: string): boolean {
    return this.#view.loaded.has(namespace) || this.#selfManaged.has(namespace);
  }

  onRevision(listener: (event: RevisionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Entries refused at the boundary (foreign, malformed, too deep), for metrics and logs. */
  onRefused(listener: (refusal: Refusal) => void): () => void {
    this.#refusalListeners.add(listener);
    return () => this.#refusalListeners.delete(listener);
  }

  /**
   * Whole namespaces from a successful answer (a list, a stream snapshot): each one in
   * `data` is loaded afterwards. Keys refused by the parser keep what is held, so a
   * bad entry never deletes a good one.
   */
  replaceNamespaces(data: ReadonlyMap<string, readonly Entry[]>, refused: readonly Refusal[] = []): readonly Change[] {
    return this.replaceChecked(data, refused).changes;
  }

  /** replaceNamespaces, also telling which namespaces' answers were refused as a whole. */
  replaceChecked(data: ReadonlyMap<string, readonly Entry[]>, refused: readonly Refusal[] = [], answer: AnswerContext = {}): ReplaceResult {
    for (const refusal of refused) this.reportRefusal(refusal);
    const changes: Change[] = [];
    const loads: string[] = [];
    const refusedAnswers = new Map<string, string>();
    for (const [namespace, entries] of data) {
      const current = this.#view.namespaces.get(namespace);
      if (current === undefined) {
        // not a namespace this store serves (a stream snapshot with more than was asked)
        for (const e of entries) {
          this.reportRefusal({ namespace, key: e.key, kind: 'foreign-namespace', reason: `namespace "${namespace}" was not asked for` });
        }
        continue;
      }
      const problem = this.answerProblem(namespace, entries, answer.environment);
      if (problem !== undefined) {
        refusedAnswers.set(namespace, problem);
        this.reportRefusal({ namespace, key: undefined, kind: 'foreign-answer', reason: problem });
        continue;
      }
      loads.push(namespace);
      const incoming = this.#oneEntryPerKey(entries);
      const keep = new Set(refused.filter((r) => r.namespace === namespace && r.key !== undefined).map((r) => r.key));
      for (const entry of incoming.values()) changes.push({ type: 'put', entry });
      for (const key of current.keys()) if (!incoming.has(key) && !keep.has(key)) changes.push({ type: 'delete', namespace, key });
    }
    return { changes: this.#commit(changes, loads), refusedAnswers };
  }

  /**
   * Why an answer for `namespace` is not an answer to the question asked (undefined
   * when it is): it says it is for another environment, or it holds an entry of
   * another namespace or environment (what upstream answers when `env=` is lost).
   * Such an answer cannot tell what the namespace holds, so none of it is used.
   */
  answerProblem(namespace: string, entries: readonly Entry[], answerEnvironment?: string): string | undefined {
    const env = this.#environment;
    if (env !== undefined && answerEnvironment !== undefined && canonicalEnvironment(answerEnvironment) !== env) {
      return `answer for "${namespace}" is for environment "${answerEnvironment}", not "${env}"; kept what is held`;
    }
    for (const entry of entries) {
      if (entry.namespace !== namespace) {
        return `answer for "${namespace}" holds an entry of namespace "${entry.namespace}" (${entry.key}); kept what is held`;
      }
      if (env !== undefined && canonicalEnvironment(entry.environment) !== env) {
        return `answer for "${namespace}" holds an entry of environment "${entry.environment}" (${entry.key}), not "${env}"; kept what is held`;
      }
    }
    return undefined;
  }

  /** Puts and deletes (stream events, Vault) as one revision. Loads nothing; a put for a namespace not loaded yet is not kept. */
  apply(changes: readonly Change[]): readonly Change[] {
    const checked = changes.filter(
      (c) => c.type === 'delete' || (this.#accepts(c.entry, c.entry.namespace) && this.isLoaded(c.entry.namespace)),
    );
    return this.#commit(checked, []);
  }

  /** Duplicate keys in one answer: the highest version wins, then the greater id; the others are counted. */
  #oneEntryPerKey(entries: readonly Entry[]): Map<string, Entry> {
    const byKey = new Map<string, Entry>();
    for (const entry of entries) {
      const other = byKey.get(entry.key);
      if (other === undefined) {
        byKey.set(entry.key, entry);
        continue;
      }
      const wins = entry.version > other.version || (entry.version === other.version && (entry.id ?? '') > (other.id ?? ''));
      const loser = wins ? other : entry;
      if (wins) byKey.set(entry.key, entry);
      this.reportRefusal({
        namespace: entry.namespace,
        key: entry.key,
        kind: 'duplicate',
        reason: `key ${entry.namespace}/${entry.key} appears more than once in one answer; version ${loser.version} not taken`,
      });
    }
    return byKey;
  }

  /**
   * Load a saved view (the snapshot) without treating it as a change from upstream.
   * The namespaces in `loaded` (all it holds, when not given) are loaded. `retiredThen`
   * is the memory of ids that left a key, saved with it: without it, a lagging answer
   * after a restart could bring back an id that was replaced before the restart.
   */
  restore(
    namespaces: ReadonlyMap<string, readonly Entry[]>,
    revision: number,
    changedAt: number,
    loadedThen?: readonly string[],
    retiredThen: readonly RetiredId[] = [],
  ): void {
    this.rememberRetired(retiredThen);
    const restored = new Map(this.#view.namespaces);
    const loaded = new Set(this.#view.loaded);
    for (const [namespace, entries] of namespaces) {
      if (!restored.has(namespace)) continue;
      // The snapshot is a file on disk: the same checks as an answer (SPEC §4 invariants hold after restore too).
      const problem = this.answerProblem(namespace, entries);
      if (problem !== undefined) {
        this.reportRefusal({ namespace, key: undefined, kind: 'foreign-answer', reason: `snapshot: ${problem}` });
        continue;
      }
      restored.set(namespace, this.#oneEntryPerKey(entries));
      if (loadedThen === undefined || loadedThen.includes(namespace)) loaded.add(namespace);
    }
    const next = Math.max(revision, this.#view.revision);
    this.#view = Object.freeze({ revision: next, changedAt, loaded, namespaces: restored });
  }

  #accepts(entry: Entry, namespace: string): boolean {
    if (entry.namespace !== namespace || !this.#view.namespaces.has(namespace)) {
      const where = namespace === entry.namespace ? 'a namespace this agent does not sync' : `an answer for "${namespace}"`;
      this.reportRefusal({
        namespace: entry.namespace,
        key: entry.key,
        kind: 'foreign-namespace',
        reason: `entry of namespace "${entry.namespace}" in ${where}`,
      });
      return false;
    }
    if (this.#environment !== undefined && canonicalEnvironment(entry.environment) !== this.#environment) {
      this.reportRefusal({
        namespace,
        key: entry.key,
        kind: 'foreign-environment',
        reason: `entry of environment "${entry.environment}" in an answer for "${this.#environment}"`,
      });
      return false;
    }
    return true;
  }

  /**
   * Stale: a lower version of the id held for the key, or an id that left the key
   * (replaced by a rollback or a re-create, or deleted) at the version it left with or
   * lower: upstream never revives an id, so only a lagging answer can show it again.
   */
  #isStale(entry: Entry, held: Entry | undefined): boolean {
    if (entry.id === undefined) return false;
    if (held?.id === entry.id) return entry.version < held.version;
    const retired = this.#retired.get(retiredKey(entry));
    return retired !== undefined && entry.version <= retired.version;
  }

  /** Adds saved retired ids (oldest first) to the memory: only namespaces served here, never more than kept. */
  rememberRetired(retired: readonly RetiredId[]): void {
    const served = retired.filter((r) => this.#view.namespaces.has(r.namespace) && Number.isSafeInteger(r.version));
    for (const r of served.slice(-RETIRED_IDS_KEPT)) this.#retire(r);
  }

  /** Ids that left a key, oldest first (at most RETIRED_IDS_KEPT), for the snapshot. */
  retiredIds(): readonly RetiredId[] {
    return [...this.#retired.values()];
  }

  #retire(entry: Pick<Entry, 'namespace' | 'key' | 'id' | 'version'> | undefined): void {
    if (entry?.id === undefined) return;
    const id = retiredKey(entry);
    const before = this.#retired.get(id);
    this.#retired.delete(id);
    const version = Math.max(entry.version, before?.version ?? entry.version);
    this.#retired.set(id, { namespace: entry.namespace, key: entry.key, id: entry.id, version });
    if (this.#retired.size > RETIRED_IDS_KEPT) this.#retired.delete(this.#retired.keys().next().value!);
  }

  #commit(changes: readonly Change[], loads: readonly string[]): readonly Change[] {
    const touched = new Map<string, Map<string, Entry>>();
    const effective: Change[] = [];
    for (const change of changes) {
      const namespace = change.type === 'put' ? change.entry.namespace : change.namespace;
      const base = touched.get(namespace) ?? this.#view.namespaces.get(namespace);
      if (base === undefined) continue;
      const key = change.type === 'put' ? change.entry.key : change.key;
      const old = base.get(key);
      if (change.type === 'put' && (this.#isStale(change.entry, old) || (old && entryFingerprint(old) === entryFingerprint(change.entry))))
        continue;
      if (change.type === 'delete' && old === undefined) continue;
      const next = touched.get(namespace) ?? new Map(base);
      if (change.type === 'put') next.set(key, change.entry);
      else next.delete(key);
      if (old?.id !== undefined && (change.type === 'delete' || old.id !== change.entry.id)) this.#retire(old);
      touched.set(namespace, next);
      effective.push(change);
    }
    const newlyLoaded = loads.filter((ns) => !this.#view.loaded.has(ns));
    if (effective.length === 0 && newlyLoaded.length === 0) return effective;
    const namespaces = new Map(this.#view.namespaces);
    for (const [namespace, data] of touched) namespaces.set(namespace, data);
    const loaded = newlyLoaded.length === 0 ? this.#view.loaded : new Set([...this.#view.loaded, ...newlyLoaded]);
    this.#view = Object.freeze({ revision: this.#view.revision + 1, changedAt: this.#now(), loaded, namespaces });
    const event = Object.freeze({ view: this.#view, changes: Object.freeze(effective) });
    for (const listener of this.#listeners) listener(event);
    return event.changes;
  }

  /** Tell the refusal listeners about an entry not taken (also for refusals found before the store, e.g. a stream put). */
  reportRefusal(refusal: Refusal): void {
    for (const listener of this.#refusalListeners) listener(refusal);
  }
}

/** Retired ids are remembered per key: the rule is about what replaced what under one key. */
function retiredKey(entry: Pick<Entry, 'namespace' | 'key' | 'id'>): string {
  return `${entry.namespace}\u0000${entry.key}\u0000${entry.id}`;
}

export function countEntries(view: StoreView): number {
  let n = 0;
  for (const data of view.namespaces.values()) n += data.size;
  return n;
}
