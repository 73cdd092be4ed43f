// Retries with full-jitter exponential backoff (AWS architecture blog, "Exponential
// Backoff and Jitter"): delay = random(0, min(cap, base · 2^(attempt-1))). p-retry
// drives the attempt loop, the abort signal and the deadline; the delay policy is ours
// because p-retry's own `randomize` only spreads delays upward (×1..2), which keeps a
// fleet that failed together too close together.

import pRetry, { AbortError } from 'p-retry';
import { CentralHttpError, CentralRateLimitedError } from './errors.ts';

export type BackoffPolicy = {
  readonly baseMs: number;
  readonly capMs: number;
  /** Injectable for tests; Math.random otherwise. */
  readonly random?: () => number;
};

export function fullJitterDelayMs(policy: BackoffPolicy, attempt: number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor((policy.random ?? Math.random)() * ceiling);
}

/**
 * The wait before the next attempt after `error`. A server's Retry-After is honoured
 * (plus up to 10 % jitter so a fleet does not return on one beat); a 429 without one
 * never retries faster than the base delay.
 */
export function retryDelayMs(policy: BackoffPolicy, attempt: number, error: unknown): number {
  const jittered = fullJitterDelayMs(policy, attempt);
  if (error instanceof CentralHttpError && error.retryAfterMs !== undefined) {
    return error.retryAfterMs + Math.floor((policy.random ?? Math.random)() * error.retryAfterMs * 0.1);
  }
  if (error instanceof CentralRateLimitedError) return Math.max(jittered, policy.baseMs);
  return jittered;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type RetryOptions = {
  readonly policy: BackoffPolicy;
  readonly signal?: AbortSignal;
  /** Stop retrying after this long (ms) and reject with the last error. */
  readonly maxRetryTimeMs?: number;
  /** Return false to give up at once on this error (e.g. a stream the server does not offer). */
  readonly shouldRetry?: (error: unknown) => boolean;
  /** Called before each wait, for logs and metrics. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
};

export async function retryWithBackoff<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal, shouldRetry = () => true } = options;
  const deadline = options.maxRetryTimeMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.maxRetryTimeMs;
  return pRetry(
    async (attempt) => {
      try {
        return await operation(attempt);
      } catch (error) {
        if (!shouldRetry(error)) throw new AbortError(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    },
    {
      retries: Number.POSITIVE_INFINITY,
      // p-retry's own timer stays at ~0: the wait happens in onFailedAttempt below.
      minTimeout: 1,
      maxTimeout: 1,
      factor: 1,
      signal,
      onFailedAttempt: async ({ error, attemptNumber }) => {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw error;
        const delay = Math.min(retryDelayMs(policy, attemptNumber, error), remaining);
        options.onRetry?.(error, attemptNumber, delay);
        await sleep(delay, signal);
        if (Date.now() >= deadline) throw error;
      },
    },
  );
}
