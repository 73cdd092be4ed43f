// Who is asking: the agent's projected service-account token, checked with a
// TokenReview (audience --token-audience) through @kubernetes/client-node. Each answer
// is cached until the token expires (its `exp` claim), in a bounded LRU keyed by a
// digest of the token, and concurrent first requests with one token share one review:
// one TokenReview per token per lifetime.

import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuthenticationV1Api } from '@kubernetes/client-node';
import type { Logger } from '../src/logger.ts';
import { describeError } from '../src/errors.ts';
import type { RelayMetrics } from './relay-metrics.ts';

export type PodIdentity = {
  readonly username: string;
  /** Kubernetes namespace of the service account (and so of the pod). */
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podName: string | undefined;
};

export type ReviewResult = { readonly ok: true; readonly identity: PodIdentity } | { readonly ok: false; readonly reason: string };

/** Answers without a usable expiry are kept this long; rejections of such tokens too. */
const FALLBACK_TTL_MS = 5 * 60_000;
const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;
const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';

export class TokenReviewer {
  readonly #api: Pick<AuthenticationV1Api, 'createTokenReview'>;
  readonly #audience: string;
  readonly #logger: Logger;
  readonly #metrics: RelayMetrics;
  readonly #cache: LRUCache<string, ReviewResult>;
  readonly #pending = new Map<string, Promise<ReviewResult>>();

  constructor(options: {
    api: Pick<AuthenticationV1Api, 'createTokenReview'>;
    audience: string;
    logger: Logger;
    metrics: RelayMetrics;
    maxEntries?: number;
  }) {
    this.#api = options.api;
    this.#audience = options.audience;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#cache = new LRUCache({ max: options.maxEntries ?? 20_000, ttlAutopurge: false });
  }

  /** The identity behind `token`; throws when the Kubernetes API could not be asked (not cached). */
  async review(token: string): Promise<ReviewResult> {
    const id = createHash('sha256').update(token).digest('base64url');
    const cached = this.#cache.get(id);
    if (cached !== undefined) return cached;
    let pending = this.#pending.get(id);
    if (pending === undefined) {
      pending = this.#ask(token, id).finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return pending;
  }

  async #ask(token: string, id: string): Promise<ReviewResult> {
    let status: {
      authenticated?: boolean;
      audiences?: string[];
      user?: { username?: string; extra?: Record<string, string[]> };
      error?: string;
    };
    try {
      const review = await this.#api.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.#audience] } },
      });
      status = review.status ?? {};
    } catch (error) {
      this.#metrics.tokenReviews.inc({ result: 'error' });
      this.#logger.warn({ err: describeError(error) }, 'TokenReview failed');
      throw error;
    }
    const result = interpret(status, this.#audience);
    this.#metrics.tokenReviews.inc({ result: result.ok ? 'authenticated' : 'rejected' });
    const ttl = ttlOf(token);
    if (ttl > 0) this.#cache.set(id, result, { ttl });
    return result;
  }
}

function interpret(
  status: { authenticated?: boolean; audiences?: string[]; user?: { username?: string; extra?: Record<string, string[]> }; error?: string },
  audience: string,
): ReviewResult {
  if (status.authenticated !== true)
    return { ok: false, reason: `token not accepted by the Kubernetes API${status.error ? ` (${status.error})` : ''}` };
  if (status.audiences !== undefined && !status.audiences.includes(audience))
    return { ok: false, reason: `token is not for audience "${audience}"` };
  const username = status.user?.username ?? '';
  const match = SA_USER.exec(username);
  if (!match) return { ok: false, reason: `"${username}" is not a service account; the relay serves pods only` };
  return {
    ok: true,
    identity: { username, namespace: match[1]!, serviceAccount: match[2]!, podName: status.user?.extra?.[POD_NAME_EXTRA]?.[0] },
  };
}

/** ms until the token's `exp` claim (read, not verified: the TokenReview verified it), else the fallback. */
export function ttlOf(token: string, now = Date.now()): number {
  const payload = token.split('.')[1];
  if (payload === undefined) return FALLBACK_TTL_MS;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? Math.min(exp * 1000 - now, 24 * 3_600_000) : FALLBACK_TTL_MS;
  } catch {
    return FALLBACK_TTL_MS;
  }
}
