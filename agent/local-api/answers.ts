// Pre-serialised answers for value reads. The bytes of an answer depend only on the
// store revision, so an answer is built on its first read and kept for the rest of the
// revision: a cached read is a map lookup and one write.
//
// Memory is bounded by bytes, not entries (SPEC §5): one namespace list of 10,000 keys
// weighs as much as 10,000 single values, so an entry bound says nothing about memory.
// Only 200 answers are cached: a miss is cheap to build, and caching misses per URL let
// any client grow the agent without limit by asking for keys that do not exist (issue
// 12, item 2). When the revision moves, the previous revision's answers are dropped at
// once, so their buffers do not outlive the data they were built from.

import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { entryFingerprint, type Entry } from '../../src/central/entry.ts';
import type { StoreView } from '../../src/store/config-store.ts';

export type Answer = {
  readonly status: number;
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string | undefined;
};

export type ValueRoute = 'entry' | 'namespace' | 'value';

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/**
 * Default budget for cached answers. Measured with ~350-byte values (docs/sizing.md):
 * every answer of 1,000 keys (entries, bare values and the namespace list) counts
 * 1.9 MiB; of 10,000 keys, 19.5 MiB, 5.2 MiB of it the list. 8 MiB keeps all of a
 * typical pod and the list plus the hot keys of a large one.
 */
export const DEFAULT_ANSWER_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * What one cached answer costs beyond its body: the Answer object, its ETag string,
 * the cache key and lru-cache's slots. An estimate (V8 does not tell), on the high side.
 */
const PER_ANSWER_OVERHEAD = 256;

export function jsonAnswer(status: number, body: unknown, etag?: string): Answer {
  return { status, body: Buffer.from(JSON.stringify(body)), contentType: JSON_TYPE, etag };
}

export function errorAnswer(status: number, error: string, message: string): Answer {
  return jsonAnswer(status, { error, message });
}

/**
 * Bytes of their own for an answer that is kept: `Buffer.from` cuts small strings out
 * of Node's shared 8 KiB pool, and one kept slice would pin a whole slab of otherwise
 * dead bytes for as long as the answer lives.
 */
function ownedBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
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
    const etag = etagOf(entries.map(entryFingerprint).join('\n') + namespace);
    return { status: 200, body: ownedBytes(JSON.stringify(entries)), contentType: JSON_TYPE, etag };
  }
  const entry: Entry | undefined = data.get(key!);
  if (entry === undefined) return notFound(`Configuration not found: ${namespace}:${key}`);
  const etag = etagOf(`${route}\n${entryFingerprint(entry)}`);
  if (route === 'entry') return { status: 200, body: ownedBytes(JSON.stringify(entry)), contentType: JSON_TYPE, etag };
  return typeof entry.value === 'string'
    ? { status: 200, body: ownedBytes(entry.value), contentType: TEXT_TYPE, etag }
    : { status: 200, body: ownedBytes(JSON.stringify(entry.value)), contentType: JSON_TYPE, etag };
}

export type AnswerCacheStats = { readonly answers: number; readonly bytes: number; readonly maxBytes: number };

export class AnswerCache {
  readonly #maxBytes: number;
  readonly #cache: LRUCache<string, Answer>;
  #revision = -1;

  constructor(options: { maxBytes?: number } = {}) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_ANSWER_CACHE_BYTES;
    // No `max`: lru-cache would preallocate slots for it; the byte bound is the bound.
    // An answer larger than the whole budget is served uncached.
    this.#cache = new LRUCache<string, Answer>({
      maxSize: this.#maxBytes,
      sizeCalculation: (answer, cacheKey) => answer.body.length + 2 * cacheKey.length + PER_ANSWER_OVERHEAD,
    });
  }

  get(view: StoreView, route: ValueRoute, namespace: string, key: string | undefined): Answer {
    if (view.revision !== this.#revision) {
      this.#cache.clear();
      this.#revision = view.revision;
    }
    const cacheKey = `${route}\u0000${namespace}\u0000${key ?? ''}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const answer = buildAnswer(view, route, namespace, key);
    if (answer.status === 200) this.#cache.set(cacheKey, answer);
    return answer;
  }

  /** What the cache holds now: answers and their bytes as counted against the budget. */
  stats(): AnswerCacheStats {
    return { answers: this.#cache.size, bytes: this.#cache.calculatedSize, maxBytes: this.#maxBytes };
  }
}
