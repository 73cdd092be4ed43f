// The upstream entry shape, checked at the boundary so nothing downstream has to
// guess. The raw object is kept as received: the local API serves it unchanged.

import { createHash } from 'node:crypto';
import { CentralProtocolError } from '../errors.ts';

export type Entry = {
  readonly id?: string;
  readonly namespace: string;
  readonly key: string;
  readonly value: unknown;
  readonly environment: string;
  readonly version: number;
  readonly metadata?: unknown;
};

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function parseEntry(raw: unknown, where: string): Entry {
  if (!isRecord(raw)) throw new CentralProtocolError(`${where}: an entry must be a JSON object`);
  const { namespace, key, environment, version, id } = raw;
  if (typeof namespace !== 'string' || namespace === '') throw new CentralProtocolError(`${where}: entry without a namespace`);
  if (typeof key !== 'string' || key === '' || key.includes('\0')) throw new CentralProtocolError(`${where}: entry without a usable key`);
  if (typeof environment !== 'string') throw new CentralProtocolError(`${where}: entry ${namespace}/${key} has no environment`);
  if (!Number.isSafeInteger(version)) throw new CentralProtocolError(`${where}: entry ${namespace}/${key} has no integer version`);
  if (id !== undefined && typeof id !== 'string') throw new CentralProtocolError(`${where}: entry ${namespace}/${key} has a non-string id`);
  if (!('value' in raw)) throw new CentralProtocolError(`${where}: entry ${namespace}/${key} has no value`);
  return Object.freeze(raw) as unknown as Entry;
}

export function parseEntryList(raw: unknown, where: string): Entry[] {
  if (!Array.isArray(raw)) throw new CentralProtocolError(`${where}: expected a JSON array of entries`);
  return raw.map((item, i) => parseEntry(item, `${where}[${i}]`));
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
