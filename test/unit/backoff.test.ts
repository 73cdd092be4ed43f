import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../helpers/fake-clock.ts';
import { fullJitterDelayMs, retryDelayMs, retryWithBackoff } from '../../src/sync/backoff.ts';
import { CentralHttpError, CentralRateLimitedError, CentralUnreachableError } from '../../src/errors.ts';

const policy = (r: number) => ({ baseMs: 1000, capMs: 60_000, random: () => r });

test('jitter: uniform in [base, min(cap, base·2^n)], never under the base', () => {
  assert.equal(fullJitterDelayMs(policy(0), 1), 1000);
  assert.equal(fullJitterDelayMs(policy(0.5), 1), 1500);
  assert.equal(fullJitterDelayMs(policy(0.5), 3), 4500);
  assert.equal(fullJitterDelayMs(policy(0.999), 10), 59_941); // capped at 60 s
  assert.equal(fullJitterDelayMs(policy(0.5), 1000), 30_500); // no overflow for huge attempts
});

test('Retry-After is honoured with up to 10 % jitter; a bare 429 or error waits at least the base', () => {
  assert.equal(retryDelayMs(policy(0.5), 1, new CentralRateLimitedError(429, '', 5000)), 5250);
  assert.equal(retryDelayMs(policy(0), 1, new CentralRateLimitedError(429, '')), 1000);
  assert.equal(retryDelayMs(policy(0), 1, new CentralHttpError(503, '')), 1000);
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
    { policy: { baseMs: 4, capMs: 16, random: () => 1 }, onRetry: (_e, _a, delay) => waits.push(delay) },
  );
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(waits, [8, 16]);
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

test('an abort ends the wait at once', async (t) => {
  // Timers on a fake clock that never moves: a 10 s backoff sleep can only end by the abort.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const controller = new AbortController();
  let waiting = false;
  const outcome: { error?: unknown } = {};
  const run = retryWithBackoff(
    async () => {
      throw new CentralUnreachableError('x');
    },
    {
      policy: { baseMs: 10_000, capMs: 10_000, random: () => 1 },
      signal: controller.signal,
      onRetry: () => {
        waiting = true;
      },
    },
  ).catch((error: unknown) => {
    outcome.error = error;
  });
  await settle();
  assert.equal(waiting, true, 'the first attempt failed and the backoff wait began');
  assert.equal(outcome.error, undefined);
  controller.abort(new Error('stop'));
  await settle();
  assert.match(String(outcome.error), /stop/, 'the abort ended the wait without any time passing');
  await run;
});

test('issue 11 #3: whatever Retry-After says (0, -1, 5.5, garbage, a past date), every wait is ≥ base, ≤ 1 h, jittered', async () => {
  const { parseRetryAfterMs } = await import('../../src/central/client.ts');
  const headers = ['0', '-1', '5.5', 'soon', '', ' ', '1e9', 'Thu, 01 Jan 1970 00:00:00 GMT', '99999999', '0.0001'];
  for (const header of headers) {
    const error = new CentralRateLimitedError(429, '', parseRetryAfterMs(header));
    const waits = [0, 0.5, 0.999].map((r) => retryDelayMs({ baseMs: 1000, capMs: 60_000, random: () => r }, 1, error));
    for (const wait of waits) {
      assert.ok(wait >= 1000, `Retry-After "${header}": waited ${wait}ms, under --backoff-base`);
      assert.ok(wait <= 3_600_000, `Retry-After "${header}": waited ${wait}ms, over one hour`);
    }
    assert.ok(new Set(waits).size > 1, `Retry-After "${header}": not jittered (${waits.join(', ')})`);
  }
  // The same floor for a plain failure: full jitter never gives a tight loop.
  for (const r of [0, 0.3, 0.999])
    assert.ok(retryDelayMs({ baseMs: 1000, capMs: 60_000, random: () => r }, 1, new CentralHttpError(503, '')) >= 1000);
});
