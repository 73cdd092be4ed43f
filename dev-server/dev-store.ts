// The reference central API's data: versioned entries per (environment, namespace,
// key) with upstream's semantics — version +1 on every write even when unchanged,
// rollback writes a new entry with a new id, delete keeps history and re-creating
// restarts at version 1 — plus a global revision and a bounded event log that the
// watch stream resumes from.

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../src/files/write-file-atomic.ts';
import { EventLog } from '../src/central-api-server/event-log.ts';

export type StoredEntry = {
  id: string;
  namespace: string;
  key: string;
  value: unknown;
  environment: string;
  version: number;
  metadata: { created_at: string; created_by: string; updated_at: string; updated_by: string; tags: string[]; description: string | null };
};

export type HistoryItem = { version: number; value: unknown; created_at: string; created_by: string; change_description: string | null };

export type StoreEvent =
  | { revision: number; type: 'put'; entry: StoredEntry }
  | { revision: number; type: 'delete'; environment: string; namespace: string; key: string };

type KeyRecord = { current: StoredEntry | undefined; history: HistoryItem[] };

/** Upstream timestamps: RFC 3339 with a +00:00 offset and nanosecond digits. */
export function upstreamTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000000+00:00');
}

const EVENT_LOG_LIMIT = 10_000;

export class DevStore {
  readonly #records = new Map<string, KeyRecord>();
  readonly #log = new EventLog<StoreEvent>(EVENT_LOG_LIMIT);
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  #revision = 0;

  get revision(): number {
    return this.#revision;
  }

  onEvent(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get(environment: string, namespace: string, key: string): StoredEntry | undefined {
    return this.#records.get(recordKey(environment, namespace, key))?.current;
  }

  list(environment: string, namespace: string): StoredEntry[] {
    const prefix = recordKey(environment, namespace, '');
    const out: StoredEntry[] = [];
    for (const [k, record] of this.#records) if (k.startsWith(prefix) && record.current) out.push(record.current);
    return out;
  }

  history(environment: string, namespace: string, key: string): HistoryItem[] {
    return [...(this.#records.get(recordKey(environment, namespace, key))?.history ?? [])].reverse();
  }

  set(environment: string, namespace: string, key: string, value: unknown, user: string): StoredEntry {
    return this.#write(environment, namespace, key, value, user, { newId: false, description: null });
  }

  #write(
    environment: string,
    namespace: string,
    key: string,
    value: unknown,
    user: string,
    how: { newId: boolean; description: string | null },
  ): StoredEntry {
    const k = recordKey(environment, namespace, key);
    const record = this.#records.get(k) ?? { current: undefined, history: [] };
    const now = upstreamTimestamp();
    const previous = record.current;
    const version = previous ? Math.max(previous.version, ...record.history.map((h) => h.version)) + 1 : 1;
    const entry: StoredEntry = {
      id: previous && !how.newId ? previous.id : randomUUID(),
      namespace,
      key,
      value: value === null ? '' : value,
      environment,
      version,
      metadata: {
        created_at: previous?.metadata.created_at ?? now,
        created_by: previous?.metadata.created_by ?? user,
        updated_at: now,
        updated_by: user,
        tags: [],
        description: null,
      },
    };
    if (!previous) record.history = [];
    record.current = entry;
    record.history.push({ version, value: entry.value, created_at: now, created_by: user, change_description: how.description });
    this.#records.set(k, record);
    this.#emit({ revision: ++this.#revision, type: 'put', entry });
    return entry;
  }

  delete(environment: string, namespace: string, key: string): boolean {
    const record = this.#records.get(recordKey(environment, namespace, key));
    if (!record?.current) return false;
    record.current = undefined;
    this.#emit({ revision: ++this.#revision, type: 'delete', environment, namespace, key });
    return true;
  }

  rollback(environment: string, namespace: string, key: string, version: number, user: string): StoredEntry | undefined {
    const record = this.#records.get(recordKey(environment, namespace, key));
    const target = record?.history.find((h) => h.version === version);
    if (!record?.current || !target) return undefined;
    return this.#write(environment, namespace, key, target.value, user, { newId: true, description: `Rollback to version ${version}` });
  }

  /** Events after `revision` for these namespaces, or undefined when the log no longer reaches back. */
  eventsSince(revision: number, environment: string, namespaces: ReadonlySet<string>): StoreEvent[] | undefined {
    // An id from the future comes from another server lifetime: the caller sends a snapshot.
    return this.#log.since(revision, this.#revision, (e) => matches(e, environment, namespaces));
  }

  async save(path: string): Promise<void> {
    const records = Object.fromEntries(this.#records);
    await writeFileAtomic(path, JSON.stringify({ revision: this.#revision, records }), 0o600);
  }

  async load(path: string): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const data = JSON.parse(text) as { revision: number; records: Record<string, KeyRecord> };
    for (const [k, record] of Object.entries(data.records)) this.#records.set(k, record);
    this.#revision = data.revision;
    return true;
  }

  #emit(event: StoreEvent): void {
    this.#log.push(event);
    for (const listener of this.#listeners) listener(event);
  }
}

export function matches(event: StoreEvent, environment: string, namespaces: ReadonlySet<string>): boolean {
  const env = event.type === 'put' ? event.entry.environment : event.environment;
  const ns = event.type === 'put' ? event.entry.namespace : event.namespace;
  return env === environment && namespaces.has(ns);
}

function recordKey(environment: string, namespace: string, key: string): string {
  return `${environment}\u0000${namespace}\u0000${key}`;
}
