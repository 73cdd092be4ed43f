// Pre-serialised answers for value reads. The bytes of an answer depend only on the
// store revision, so they are built once per (revision, path) and kept in an LRU that
// is emptied when the revision moves: a cached read is a map lookup and one write.

import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { entryFingerprint, type Entry } from '../../src/central/entry.ts';
import type { StoreView } from '../../src/sync/store.ts';

export type Answer = {
  readonly status: number;
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string | undefined;
};

export type ValueRoute = 'entry' | 'namespace' | 'value';

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=utf-8';

export function jsonAnswer(status: number, body: unknown, etag?: string): Answer {
  return { status, body: Buffer.from(JSON.stringify(body)), contentType: JSON_TYPE, etag };
}

export function errorAnswer(status: number, error: string, message: string): Answer {
  return jsonAnswer(status, { error, message });
}

function etagOf(parts: string): string {
  return `"${createHash('sha1').update(parts).digest('base64url')}"`;
}

function notFound(what: string): Answer {
  return errorAnswer(404, 'Not Found', what);
}

/** The answer for one value route on one view; 404s name what was not found. */
export function buildAnswer(view: StoreView, route: ValueRoute, namespace: string, key: string | undefined): Answer {
  const data = view.namespaces.get(namespace);
  if (data === undefined)
    return notFound(`namespace "${namespace}" is not synced by this agent (synced: ${[...view.namespaces.keys()].join(', ')})`);
  if (route === 'namespace') {
    const entries = [...data.keys()].sort().map((k) => data.get(k)!);
    return jsonAnswer(200, entries, etagOf(entries.map(entryFingerprint).join('\n') + namespace));
  }
  const entry: Entry | undefined = data.get(key!);
  if (entry === undefined) return notFound(`Configuration not found: ${namespace}:${key}`);
  const etag = etagOf(`${route}\n${entryFingerprint(entry)}`);
  if (route === 'entry') return jsonAnswer(200, entry, etag);
  return typeof entry.value === 'string'
    ? { status: 200, body: Buffer.from(entry.value), contentType: TEXT_TYPE, etag }
    : jsonAnswer(200, entry.value, etag);
}

export class AnswerCache {
  readonly #cache = new LRUCache<string, Answer>({ max: 20_000 });
  #revision = -1;

  get(view: StoreView, route: ValueRoute, namespace: string, key: string | undefined): Answer {
    if (view.revision !== this.#revision) {
      this.#cache.clear();
      this.#revision = view.revision;
    }
    const cacheKey = `${route}\u0000${namespace}\u0000${key ?? ''}`;
    let answer = this.#cache.get(cacheKey);
    if (answer === undefined) {
      answer = buildAnswer(view, route, namespace, key);
      this.#cache.set(cacheKey, answer);
    }
    return answer;
  }
}
