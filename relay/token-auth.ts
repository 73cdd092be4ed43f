// Who is asking: the agent's projected service-account token, checked with a
// TokenReview (audience --token-audience) through @kubernetes/client-node. Each answer
// is cached until the token expires (its `exp` claim), keyed by a digest of the token,
// and concurrent first requests with one token share one review: one TokenReview per
// token per lifetime.
//
// Hostile clients must not turn the relay into a TokenReview amplifier: tokens that are
// not JWT-shaped, too long or already expired are refused without a review; accepted
// and rejected answers live in separate caches (a flood of bad tokens cannot evict a
// good one; rejections are few and short-lived); reviews of unseen tokens are bounded
// in flight and by a token bucket, and each is bounded in time. Beyond the bounds the
// caller gets TokenReviewUnavailableError (503 with Retry-After), never a hang.

import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuthenticationV1Api } from '@kubernetes/client-node';
import type { Logger } from '../src/logger.ts';
import { describeError, TokenReviewUnavailableError } from '../src/errors.ts';
import type { RelayMetrics } from './relay-metrics.ts';

export type PodIdentity = {
  readonly username: string;
  /** Kubernetes namespace of the service account (and so of the pod). */
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podName: string | undefined;
  /** When the token stops being valid (ms since epoch): open streams end then. */
  readonly expiresAt: number;
};

export type ReviewResult = { readonly ok: true; readonly identity: PodIdentity } | { readonly ok: false; readonly reason: string };

export type ReviewLimits = {
  /** Longest wait for one TokenReview answer. */
  readonly timeoutMs: number;
  /** Reviews of unseen tokens per second (token bucket, burst of the same size). */
  readonly reviewsPerSecond: number;
  /** Reviews waiting for the Kubernetes API at once. */
  readonly maxInFlight: number;
  readonly positiveEntries: number;
  readonly negativeEntries: number;
  /** Longest a rejection is remembered. */
  readonly negativeTtlMs: number;
};

export const DEFAULT_REVIEW_LIMITS: ReviewLimits = Object.freeze({
  timeoutMs: 5_000,
  reviewsPerSecond: 50,
  maxInFlight: 32,
  positiveEntries: 20_000,
  negativeEntries: 1_000,
  negativeTtlMs: 60_000,
});

/** Answers without a usable expiry are kept this long. */
const FALLBACK_TTL_MS = 5 * 60_000;
/** Projected service-account tokens are 1–2 KB; anything this long is not one. */
export const MAX_TOKEN_CHARS = 8_192;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;
const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
/** RFC 1123 label (namespaces) and subdomain (service accounts, pods), as Kubernetes validates them. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_USERNAME_CHARS = 'system:serviceaccount:'.length + 63 + 1 + 253;

type Clock = () => number;

export class TokenReviewer {
  readonly #api: Pick<AuthenticationV1Api, 'createTokenReview'>;
  readonly #audience: string;
  readonly #logger: Logger;
  readonly #metrics: RelayMetrics;
  readonly #limits: ReviewLimits;
  readonly #now: Clock;
  readonly #accepted: LRUCache<string, ReviewResult>;
  readonly #rejected: LRUCache<string, ReviewResult>;
  readonly #pending = new Map<string, Promise<ReviewResult>>();
  #tokens: number;
  #refilledAt: number;

  constructor(options: {
    api: Pick<AuthenticationV1Api, 'createTokenReview'>;
    audience: string;
    logger: Logger;
    metrics: RelayMetrics;
    limits?: Partial<ReviewLimits>;
    now?: Clock;
  }) {
    this.#api = options.api;
    this.#audience = options.audience;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#limits = { ...DEFAULT_REVIEW_LIMITS, ...options.limits };
    this.#now = options.now ?? Date.now;
    this.#accepted = new LRUCache({ max: this.#limits.positiveEntries, ttlAutopurge: false, perf: { now: this.#now } });
    this.#rejected = new LRUCache({ max: this.#limits.negativeEntries, ttlAutopurge: false, perf: { now: this.#now } });
    this.#tokens = this.#limits.reviewsPerSecond;
    this.#refilledAt = this.#now();
  }

  /** The identity behind `token`; throws TokenReviewUnavailableError when it cannot be reviewed now (not cached). */
  async review(token: string): Promise<ReviewResult> {
    const refused = prefilter(token, this.#now());
    if (refused !== undefined) {
      this.#metrics.tokenReviews.inc({ result: 'prefiltered' });
      return { ok: false, reason: refused };
    }
    const id = createHash('sha256').update(token).digest('base64url');
    const cached = this.#accepted.get(id) ?? this.#rejected.get(id);
    if (cached !== undefined) return cached;
    let pending = this.#pending.get(id);
    if (pending === undefined) {
      this.#admit();
      pending = this.#ask(token, id).finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return pending;
  }

  /** Takes one review from the in-flight bound and the bucket, or throws "busy". */
  #admit(): void {
    const now = this.#now();
    const rate = this.#limits.reviewsPerSecond;
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#pending.size >= this.#limits.maxInFlight || this.#tokens < 1) {
      this.#metrics.tokenReviews.inc({ result: 'throttled' });
      throw new TokenReviewUnavailableError('busy', 'too many token reviews at once');
    }
    this.#tokens -= 1;
  }

  async #ask(token: string, id: string): Promise<ReviewResult> {
    let status: ReviewStatus;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TokenReviewUnavailableError('timeout', `no TokenReview answer within ${this.#limits.timeoutMs} ms`)),
        this.#limits.timeoutMs,
      );
      timer.unref();
    });
    try {
      const review = await Promise.race([
        this.#api.createTokenReview({
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.#audience] } },
        }),
        timeout,
      ]);
      status = (review.status ?? {}) as ReviewStatus;
    } catch (error) {
      const unavailable =
        error instanceof TokenReviewUnavailableError
          ? error
          : new TokenReviewUnavailableError('api-error', 'the Kubernetes API failed the TokenReview', { cause: error });
      this.#metrics.tokenReviews.inc({ result: unavailable.reason === 'timeout' ? 'timeout' : 'error' });
      // The detail (status, headers, body) goes to the log only; callers get the code.
      this.#logger.warn({ err: describeError(error), reason: unavailable.reason }, 'TokenReview failed');
      throw unavailable;
    } finally {
      clearTimeout(timer);
    }
    const ttl = ttlOf(token, this.#now());
    const result = interpret(status, this.#audience, this.#now() + ttl);
    this.#metrics.tokenReviews.inc({ result: result.ok ? 'authenticated' : 'rejected' });
    if (ttl > 0) {
      if (result.ok) this.#accepted.set(id, result, { ttl });
      else this.#rejected.set(id, result, { ttl: Math.min(ttl, this.#limits.negativeTtlMs) });
    }
    return result;
  }
}

type ReviewStatus = {
  authenticated?: boolean;
  audiences?: string[];
  user?: { username?: string; extra?: Record<string, string[]> };
  error?: string;
};

/** Why `token` cannot be a projected service-account token, without asking anyone; undefined when it may be. */
export function prefilter(token: string, now = Date.now()): string | undefined {
  if (token.length > MAX_TOKEN_CHARS) return `the token is longer than ${MAX_TOKEN_CHARS} characters; a service-account token is a JWT`;
  if (!JWT_SHAPE.test(token)) return 'the token is not a JWT (three base64url parts joined by ".")';
  if (ttlOf(token, now) <= 0) return 'the token has expired (its exp claim is in the past)';
  return undefined;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function interpret(status: ReviewStatus, audience: string, expiresAt: number): ReviewResult {
  if (status.authenticated !== true)
    return { ok: false, reason: `token not accepted by the Kubernetes API${status.error ? ` (${clip(String(status.error))})` : ''}` };
  if (status.audiences !== undefined && !status.audiences.includes(audience))
    return { ok: false, reason: `token is not for audience "${audience}"` };
  const username = typeof status.user?.username === 'string' ? status.user.username : '';
  const match = username.length <= MAX_USERNAME_CHARS ? SA_USER.exec(username) : null;
  if (!match) return { ok: false, reason: `"${clip(username)}" is not a service account; the relay serves pods only` };
  const [, namespace, serviceAccount] = match as unknown as [string, string, string];
  const pod = status.user?.extra?.[POD_NAME_EXTRA]?.[0];
  if (!DNS_LABEL.test(namespace) || serviceAccount.length > 253 || !DNS_SUBDOMAIN.test(serviceAccount))
    return { ok: false, reason: 'the TokenReview named a service account that is not a valid Kubernetes name' };
  if (pod !== undefined && (typeof pod !== 'string' || pod.length > 253 || !DNS_SUBDOMAIN.test(pod)))
    return { ok: false, reason: 'the TokenReview named a pod that is not a valid Kubernetes name' };
  return { ok: true, identity: { username, namespace, serviceAccount, podName: pod, expiresAt } };
}

/** ms until the token's `exp` claim (read, not verified: the TokenReview verifies it), else the fallback. */
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
