import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullJitterDelayMs, retryDelayMs, retryWithBackoff } from '../../src/backoff.ts';
import { CentralHttpError, CentralRateLimitedError, CentralUnreachableError } from '../../src/errors.ts';

const policy = (r: number) => ({ baseMs: 1000, capMs: 60_000, random: () => r });

test('full jitter: uniform in [0, min(cap, base·2^(n-1)))', () => {
  assert.equal(fullJitterDelayMs(policy(0), 1), 0);
  assert.equal(fullJitterDelayMs(policy(0.5), 1), 500);
  assert.equal(fullJitterDelayMs(policy(0.5), 3), 2000);
  assert.equal(fullJitterDelayMs(policy(0.999), 10), 59_940); // capped at 60 s
  assert.equal(fullJitterDelayMs(policy(0.5), 1000), 30_000); // no overflow for huge attempts
});

test('Retry-After is honoured with up to 10 % jitter; a bare 429 waits at least the base', () => {
  assert.equal(retryDelayMs(policy(0.5), 1, new CentralRateLimitedError(429, '', 5000)), 5250);
  assert.equal(retryDelayMs(policy(0), 1, new CentralRateLimitedError(429, '')), 1000);
  assert.equal(retryDelayMs(policy(0), 1, new CentralHttpError(503, '')), 0);
});

test('retries until success, reporting each wait', async () => {
  const waits: number[] = [];
  let calls = 0;
  const result = await retryWithBackoff(
    async (attempt) => {
      calls++;
      if (attempt < 3) throw new CentralUnreachableError('down');
      return 'ok';
    },
    { policy: { baseMs: 4, capMs: 8, random: () => 1 }, onRetry: (_e, _a, delay) => waits.push(delay) },
  );
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(waits, [4, 8]);
});

test('gives up with the last error once maxRetryTime is spent, and at once when shouldRetry says so', async () => {
  await assert.rejects(
    retryWithBackoff(
      async () => {
        throw new CentralUnreachableError('still down');
      },
      { policy: { baseMs: 5, capMs: 5 }, maxRetryTimeMs: 50 },
    ),
    (error: unknown) => error instanceof CentralUnreachableError,
  );
  let calls = 0;
  await assert.rejects(
    retryWithBackoff(
      async () => {
        calls++;
        throw new CentralHttpError(404, '');
      },
      { policy: { baseMs: 5, capMs: 5 }, shouldRetry: () => false },
    ),
    (error: unknown) => error instanceof CentralHttpError,
  );
  assert.equal(calls, 1);
});

test('an abort ends the wait at once', async () => {
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(new Error('stop')), 20);
  await assert.rejects(
    retryWithBackoff(
      async () => {
        throw new CentralUnreachableError('x');
      },
      { policy: { baseMs: 10_000, capMs: 10_000, random: () => 1 }, signal: controller.signal },
    ),
    /stop/,
  );
  assert.ok(Date.now() - started < 2000);
});
