// The upstream entry shape, checked at the boundary so nothing downstream has to
// guess. The raw object is kept as received: the local API serves it unchanged.
// A value nested deeper than MAX_VALUE_DEPTH is refused here, once, so that every
// recursive step after it (JSON.stringify for fingerprints, rendering, the snapshot)
// is safe from "Maximum call stack size exceeded".

import { createHash } from 'node:crypto';
import { CentralProtocolError, EntryRefusedError, type EntryRefusal } from '../errors.ts';

export type Entry = {
  readonly id?: string;
  readonly namespace: string;
  readonly key: string;
  readonly value: unknown;
  readonly environment: string;
  readonly version: number;
  readonly metadata?: unknown;
};

/** Deepest nesting of arrays/objects accepted in an entry (SPEC §4 "fixed limit"). */
export const MAX_VALUE_DEPTH = 64;

export type Refusal = EntryRefusal;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** True when `value` nests objects/arrays deeper than `limit`. Iterative: any depth is safe to ask about. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function refuse(where: string, raw: Record<string, unknown>, kind: Refusal['kind'], reason: string): never {
  const namespace = typeof raw.namespace === 'string' ? raw.namespace : undefined;
  const key = typeof raw.key === 'string' ? raw.key : undefined;
  throw new EntryRefusedError(where, { namespace, key, kind, reason });
}

export function parseEntry(raw: unknown, where: string): Entry {
  if (!isRecord(raw)) {
    throw new EntryRefusedError(where, {
      namespace: undefined,
      key: undefined,
      kind: 'malformed',
      reason: 'an entry must be a JSON object',
    });
  }
  const { namespace, key, environment, version, id } = raw;
  if (typeof namespace !== 'string' || namespace === '') refuse(where, raw, 'malformed', 'entry without a namespace');
  if (typeof key !== 'string' || key === '' || key.includes('\0')) refuse(where, raw, 'malformed', 'entry without a usable key');
  if (typeof environment !== 'string') refuse(where, raw, 'malformed', `entry ${namespace}/${key} has no environment`);
  // Upstream versions start at 1 and every entry has an id: anything else cannot be ordered (never back in time).
  if (!Number.isSafeInteger(version) || (version as number) < 1)
    refuse(where, raw, 'malformed', `entry ${namespace}/${key} has no version (an integer from 1 up)`);
  if (typeof id !== 'string' || id === '') refuse(where, raw, 'malformed', `entry ${namespace}/${key} has no id (a non-empty string)`);
  if (!('value' in raw)) refuse(where, raw, 'malformed', `entry ${namespace}/${key} has no value`);
  if (nestedDeeperThan(raw, MAX_VALUE_DEPTH + 1)) {
    refuse(where, raw, 'too-deep', `entry ${namespace}/${key} nests deeper than ${MAX_VALUE_DEPTH} levels (the most accepted)`);
  }
  return Object.freeze(raw) as unknown as Entry;
}

/** Strict: every item must be an entry (the snapshot, which we wrote ourselves). */
export function parseEntryList(raw: unknown, where: string): Entry[] {
  if (!Array.isArray(raw)) throw new CentralProtocolError(`${where}: expected a JSON array of entries`);
  return raw.map((item, i) => parseEntry(item, `${where}[${i}]`));
}

/** Lenient, for answers of the central API: a bad entry is refused with its reason, the rest is kept. */
export function parseEntryAnswer(raw: unknown, where: string): { entries: Entry[]; refused: Refusal[] } {
  if (!Array.isArray(raw)) throw new CentralProtocolError(`${where}: expected a JSON array of entries`);
  const entries: Entry[] = [];
  const refused: Refusal[] = [];
  raw.forEach((item, i) => {
    try {
      entries.push(parseEntry(item, `${where}[${i}]`));
    } catch (error) {
      if (!(error instanceof EntryRefusedError)) throw error;
      refused.push(error.refusal);
    }
  });
  return { entries, refused };
}

/**
 * What identifies one written version of an entry. Upstream restarts `version` at 1
 * when a key is deleted and re-created, and a rollback writes a new id, so `version`
 * alone is not enough: id + version is. A server without ids falls back to a hash of
 * the value.
 */
export function entryFingerprint(entry: Entry): string {
  if (entry.id !== undefined) return `${entry.id}@${entry.version}`;
  const digest = createHash('sha256')
    .update(JSON.stringify(entry.value) ?? '')
    .digest('base64url');
  return `v${entry.version}:${digest}`;
}
