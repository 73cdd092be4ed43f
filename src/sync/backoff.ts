// Retries with jittered exponential backoff (AWS architecture blog, "Exponential
// Backoff and Jitter"), floored at the base: delay = random(base, min(cap, base · 2^attempt)). p-retry
// drives the attempt loop, the abort signal and the deadline; the delay policy is ours
// because p-retry's own `randomize` only spreads delays upward (×1..2), which keeps a
// fleet that failed together too close together.

import pRetry, { AbortError } from 'p-retry';
import { CentralHttpError } from '../errors.ts';

export type BackoffPolicy = {
  readonly baseMs: number;
  readonly capMs: number;
  /** Injectable for tests; Math.random otherwise. */
  readonly random?: () => number;
};

/** No wait is ever longer than this, whatever a server asks for (SPEC §4 "Retry pacing is the agent's"). */
export const MAX_WAIT_MS = 3_600_000;

/**
 * Jittered exponential delay for `attempt` (1-based): uniform in
 * [base, min(cap, base · 2^attempt)]. The floor is the base, so no server answer and
 * no unlucky draw can turn a retry into a tight loop; the spread keeps a fleet that
 * failed together from coming back together.
 */
export function fullJitterDelayMs(policy: BackoffPolicy, attempt: number): number {
  const ceiling = Math.max(policy.baseMs, Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30)));
  return Math.min(MAX_WAIT_MS, policy.baseMs + Math.floor((policy.random ?? Math.random)() * (ceiling - policy.baseMs)));
}

/**
 * The wait before the next attempt after `error`. A server's Retry-After is a hint,
 * never a command: it can lengthen the wait (plus up to 10 % jitter so a fleet does
 * not return on one beat) but every wait stays within [base, 1 h].
 */
export function retryDelayMs(policy: BackoffPolicy, attempt: number, error: unknown): number {
  const jittered = fullJitterDelayMs(policy, attempt);
  if (error instanceof CentralHttpError && error.retryAfterMs !== undefined && error.retryAfterMs > jittered) {
    const asked = Math.min(error.retryAfterMs, MAX_WAIT_MS / 1.1);
    return Math.floor(asked + (policy.random ?? Math.random)() * asked * 0.1);
  }
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
  /** Injectable for tests (a fake clock); `sleep` below otherwise. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
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
        await (options.sleep ?? sleep)(delay, signal);
        if (Date.now() >= deadline) throw error;
      },
    },
  );
}
