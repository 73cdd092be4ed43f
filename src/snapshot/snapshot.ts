// The cache snapshot `init` writes and `agent` starts from: versioned, written
// atomically, and checked on load. A snapshot that is corrupt, of another format
// version, or taken for another environment or central API is ignored (the caller
// logs why) — starting cold is always better than serving the wrong configuration.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotError } from '../errors.ts';
import { parseEntryList, type Entry } from '../central/entry.ts';
import { writeFileAtomic } from '../files/write-file-atomic.ts';
import { RETIRED_IDS_KEPT, type RetiredId, type StoreView } from '../store/config-store.ts';
import { seal, unseal, type Sealed } from './seal.ts';

/** Namespaces that hold secrets: left out of the snapshot, or sealed when a key is given. */
export type Sealing = { readonly namespaces: readonly string[]; readonly key: Buffer | undefined };
const NO_SEALING: Sealing = { namespaces: [], key: undefined };

export const SNAPSHOT_FORMAT = 'llm-config-snapshot';
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_FILE = 'snapshot.json';

/** Where sync left off, so a restarted agent resumes instead of refetching. */
export type SyncCursor = {
  readonly etags: Readonly<Record<string, string>>;
  readonly lastEventId: string | undefined;
  /** ms since epoch of the last successful sync with the central API. */
  readonly lastSuccessAt: number | undefined;
};

export type Snapshot = {
  readonly savedAt: number;
  readonly revision: number;
  readonly changedAt: number;
  readonly cursor: SyncCursor;
  readonly namespaces: ReadonlyMap<string, readonly Entry[]>;
  /** Namespaces that were loaded when it was taken; undefined in older snapshots (then: all it holds). */
  readonly loaded?: readonly string[];
  /** Why sealed secrets were not restored (no key, wrong key), when there were some. */
  readonly sealedUnreadable?: string;
  /** Ids that had left a key, oldest first (ConfigStore.restore); empty in older snapshots. */
  readonly retired: readonly RetiredId[];
};

/** What is saved: a store view, with the store's memory of retired ids. */
export type SnapshotView = Pick<StoreView, 'revision' | 'changedAt' | 'namespaces'> & {
  readonly loaded?: ReadonlySet<string>;
  readonly retired?: readonly RetiredId[];
};

export type SnapshotIdentity = { readonly environment: string; readonly centralUrl: string };

export function snapshotPath(cacheDir: string): string {
  return join(cacheDir, SNAPSHOT_FILE);
}

export async function writeSnapshot(
  cacheDir: string,
  identity: SnapshotIdentity,
  view: SnapshotView,
  cursor: SyncCursor,
  sealing: Sealing = NO_SEALING,
): Promise<void> {
  const namespaces: Record<string, Entry[]> = {};
  const secret: Record<string, Entry[]> = {};
  for (const [ns, data] of view.namespaces) {
    // A namespace never loaded is left out: restoring it as empty would make it "loaded" with no data.
    if (view.loaded !== undefined && !view.loaded.has(ns) && data.size === 0) continue;
    (sealing.namespaces.includes(ns) ? secret : namespaces)[ns] = [...data.values()];
  }
  const sealed =
    sealing.key && Object.keys(secret).length > 0 ? seal(JSON.stringify(secret), sealing.key, associatedData(identity)) : undefined;
  const document = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    savedAt: new Date().toISOString(),
    environment: identity.environment,
    centralUrl: identity.centralUrl,
    revision: view.revision,
    changedAt: view.changedAt,
    cursor,
    // Which namespaces were loaded (a namespace can hold stream puts before its first full answer).
    ...(view.loaded && { loaded: [...view.loaded] }),
    namespaces,
    ...(sealed && { sealed }),
    // [namespace, key, id, version] per retired id; ids of sealed namespaces are left out with their entries.
    ...(view.retired && {
      retired: view.retired
        .filter((r) => !sealing.namespaces.includes(r.namespace))
        .slice(-RETIRED_IDS_KEPT)
        .map((r) => [r.namespace, r.key, r.id, r.version]),
    }),
  };
  await writeFileAtomic(snapshotPath(cacheDir), JSON.stringify(document), 0o600);
}

/** The snapshot, or undefined when there is none; throws SnapshotError when it is unusable. */
function associatedData(identity: SnapshotIdentity): string {
  return `${SNAPSHOT_FORMAT}/${SNAPSHOT_VERSION} ${identity.environment} ${identity.centralUrl}`;
}

export async function readSnapshot(cacheDir: string, identity: SnapshotIdentity, key?: Buffer): Promise<Snapshot | undefined> {
  let text: string;
  try {
    text = await readFile(snapshotPath(cacheDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotError(`cannot read ${snapshotPath(cacheDir)}`, { cause: error });
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new SnapshotError(`${snapshotPath(cacheDir)} is not valid JSON (corrupt or truncated)`, { cause: error });
  }
  if (doc?.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`${snapshotPath(cacheDir)} is not an llm-config snapshot`);
  if (doc.version !== SNAPSHOT_VERSION)
    throw new SnapshotError(`snapshot format version ${String(doc.version)} is not ${SNAPSHOT_VERSION}`);
  if (doc.environment !== identity.environment || doc.centralUrl !== identity.centralUrl) {
    throw new SnapshotError(
      `snapshot was taken for ${String(doc.environment)} at ${String(doc.centralUrl)}, not ${identity.environment} at ${identity.centralUrl}`,
    );
  }
  try {
    const raw = doc.namespaces as Record<string, unknown>;
    const namespaces = new Map(Object.entries(raw).map(([ns, list]) => [ns, parseEntryList(list, `snapshot ${ns}`)] as const));
    let sealedUnreadable: string | undefined;
    if (doc.sealed !== undefined) {
      try {
        if (!key) throw new SnapshotError('no --snapshot-key-file to open them');
        const secret = JSON.parse(unseal(doc.sealed as Sealed, key, associatedData(identity))) as Record<string, unknown>;
        for (const [ns, list] of Object.entries(secret)) namespaces.set(ns, parseEntryList(list, `sealed ${ns}`));
      } catch (error) {
        sealedUnreadable = (error as Error).message; // config is still good; secrets are refetched
      }
    }
    const cursor = doc.cursor as SyncCursor;
    return {
      savedAt: Date.parse(String(doc.savedAt)),
      revision: Number(doc.revision) || 0,
      changedAt: Number(doc.changedAt) || 0,
      cursor: { etags: { ...(cursor?.etags ?? {}) }, lastEventId: cursor?.lastEventId, lastSuccessAt: cursor?.lastSuccessAt },
      namespaces,
      ...(Array.isArray(doc.loaded) && { loaded: doc.loaded.filter((ns): ns is string => typeof ns === 'string') }),
      ...(sealedUnreadable && { sealedUnreadable }),
      retired: parseRetired(doc.retired),
    };
  } catch (error) {
    throw new SnapshotError(`${snapshotPath(cacheDir)} has malformed entries`, { cause: error });
  }
}

/** The saved retired ids: absent in older snapshots; anything but [ns, key, id, version] tuples is a malformed snapshot. */
function parseRetired(raw: unknown): RetiredId[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new SnapshotError('"retired" is not a list of [namespace, key, id, version]');
  return raw.slice(-RETIRED_IDS_KEPT).map((item: unknown, i) => {
    const [namespace, key, id, version] = Array.isArray(item) ? (item as unknown[]) : [];
    if (
      !Array.isArray(item) ||
      item.length !== 4 ||
      typeof namespace !== 'string' ||
      typeof key !== 'string' ||
      typeof id !== 'string' ||
      !Number.isSafeInteger(version) ||
      (version as number) < 0
    ) {
      throw new SnapshotError(`"retired" item ${i} is not [namespace, key, id, version] (strings and a non-negative integer)`);
    }
    return { namespace, key, id, version: version as number };
  });
}
