// Hostile clients and a hostile or slow Kubernetes API against the token check:
// bad tokens are refused without a review, cannot evict good ones, cannot drive
// reviews beyond the budget; a slow review is cut off; the API's error detail and
// oversized names in its answer never reach a caller.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { TokenReviewer } from '../../relay/token-auth.ts';
import { KubernetesAccess } from '../../relay/access-control.ts';
import { createRelayMetrics } from '../../relay/relay-metrics.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import { parseNamespaceGlobs } from '../../src/access/namespace-globs.ts';
import { errorCode } from '../../src/errors.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { KubeApiDouble } from '../helpers/kube-api-double.ts';
import { defer } from '../helpers/cleanup.ts';
import { startKubernetesAuthRelay } from './relay-helpers.ts';

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.signature`;
}
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

const SA = 'system:serviceaccount:team-a:app';
const accepted = (extra?: Record<string, string[]>, username = SA) => ({
  status: { authenticated: true, audiences: ['llm-config'], user: { username, ...(extra ? { extra } : {}) } },
});
const rejected = { status: { authenticated: false, error: 'invalid bearer token' } };

function fakeApi(answer: (token: string) => unknown | Promise<unknown>) {
  const calls: string[] = [];
  return {
    calls,
    api: {
      async createTokenReview(request: { body: { spec: { token?: string } } }) {
        const token = request.body.spec.token ?? '';
        calls.push(token);
        await new Promise((r) => setImmediate(r));
        return (await answer(token)) as never;
      },
    },
  };
}

function setup(answer: (token: string) => unknown | Promise<unknown>, more: Record<string, unknown> = {}) {
  const { logger, lines } = testLogger();
  const metrics = createRelayMetrics(createRegistry({ processMetrics: false }));
  const { api, calls } = fakeApi(answer);
  const reviewer = new TokenReviewer({ api, audience: 'llm-config', logger, metrics, ...more });
  return { reviewer, calls, lines, logger };
}

test('token check: tokens that are not JWTs, too long or expired are refused without a TokenReview', async () => {
  const { reviewer, calls } = setup(() => accepted());
  for (const token of ['not-a-jwt', 'a.b', 'a.b.c.d', `${jwt({ exp: inAnHour() })}${'x'.repeat(9000)}`, jwt({ exp: 1 })]) {
    const result = await reviewer.review(token);
    assert.equal(result.ok, false, token.slice(0, 40));
    assert.ok(!result.ok && result.reason.length < 200);
  }
  assert.deepEqual(calls, [], 'no review was sent');
});

test('token check: a flood of 20,500 bad tokens cannot evict a good token', { timeout: 60_000 }, async () => {
  const good = jwt({ exp: inAnHour(), n: 'good' });
  const { reviewer, calls } = setup((token) => (token === good ? accepted() : rejected));
  assert.equal((await reviewer.review(good)).ok, true);
  for (let i = 0; i < 20_500; i++) await reviewer.review(jwt({ exp: inAnHour(), n: i })).catch(() => undefined);
  assert.equal((await reviewer.review(good)).ok, true);
  assert.equal(calls.filter((t) => t === good).length, 1, 'the good token is still cached: no second review');
});

test('token check: reviews of unseen tokens are bounded per second; beyond, a "busy" error at once, never a hang', async () => {
  let now = 1_700_000_000_000;
  const { reviewer, calls } = setup(() => rejected, { now: () => now, limits: { reviewsPerSecond: 20 } });
  const exp = now / 1000 + 3600;
  const flood = async (from: number) =>
    Promise.allSettled(Array.from({ length: 500 }, (_, i) => reviewer.review(jwt({ exp, n: from + i }))));
  const first = await flood(0);
  assert.equal(calls.length, 20, 'a burst of the bucket size');
  const busy = first.filter((r) => r.status === 'rejected');
  assert.equal(busy.length, 480);
  assert.ok(busy.every((r) => errorCode(r.reason) === 'LLMC_ERR_TOKEN_REVIEW_UNAVAILABLE' && r.reason.reason === 'busy'));
  now += 1000;
  await flood(1000);
  assert.equal(calls.length, 40, '20 more after one second');
});

test('token check: at most maxInFlight reviews wait for the Kubernetes API at once', async () => {
  const release: Array<() => void> = [];
  const { reviewer, calls } = setup(() => new Promise((r) => release.push(() => r(rejected))), {
    limits: { maxInFlight: 4, reviewsPerSecond: 1000 },
  });
  const results = Array.from({ length: 10 }, (_, i) => reviewer.review(jwt({ exp: inAnHour(), n: i })));
  const settled = await Promise.allSettled(results.slice(4));
  assert.ok(settled.every((r) => r.status === 'rejected' && r.reason.reason === 'busy'));
  while (release.length < 4) await new Promise((r) => setImmediate(r));
  for (const r of release) r();
  assert.equal((await Promise.all(results.slice(0, 4))).length, 4);
  assert.equal(calls.length, 4);
});

test('token check: a TokenReview that does not answer in time fails with "timeout" (not cached, asked again)', {
  timeout: 20_000,
}, async () => {
  let hang = true;
  const { reviewer, calls } = setup(() => (hang ? new Promise(() => undefined) : accepted()), { limits: { timeoutMs: 100 } });
  const token = jwt({ exp: inAnHour() });
  await assert.rejects(reviewer.review(token), (e: { code: string; reason: string }) => {
    assert.equal(e.code, 'LLMC_ERR_TOKEN_REVIEW_UNAVAILABLE');
    assert.equal(e.reason, 'timeout');
    return true;
  });
  hang = false;
  assert.equal((await reviewer.review(token)).ok, true);
  assert.equal(calls.length, 2);
});

test('token check: names in the TokenReview answer must be valid Kubernetes names of bounded length', async () => {
  const answers = new Map<string, unknown>();
  const { reviewer } = setup((token) => answers.get(token));
  const cases: Array<[string, unknown]> = [
    ['huge-sa', accepted(undefined, `system:serviceaccount:team-a:${'a'.repeat(5_000_000)}`)],
    ['huge-pod', accepted({ 'authentication.kubernetes.io/pod-name': ['p'.repeat(2_000_000)] })],
    ['bad-pod', accepted({ 'authentication.kubernetes.io/pod-name': ['Pod_With/Slash'] })],
    ['bad-ns', accepted(undefined, 'system:serviceaccount:Team.A:app')],
    ['huge-user', accepted(undefined, `x${'u'.repeat(3_000_000)}`)],
  ];
  for (const [name, answer] of cases) {
    const token = jwt({ exp: inAnHour(), name });
    answers.set(token, answer);
    const result = await reviewer.review(token);
    assert.equal(result.ok, false, name);
    assert.ok(!result.ok && result.reason.length < 300, `${name}: the reason is short`);
  }
  const fine = jwt({ exp: inAnHour(), name: 'fine' });
  answers.set(fine, accepted({ 'authentication.kubernetes.io/pod-name': ['app-7d9f-x2'] }));
  assert.equal((await reviewer.review(fine)).ok, true);
});

test('access: a Kubernetes API error reaches the caller as a fixed message with its code; the detail is logged', async () => {
  const secret = 'HTTP-Code: 500 Message: boom Headers: {"audit-id":"abc-123","x-internal":"secret"}';
  const { reviewer, lines, logger } = setup(() => {
    throw new Error(secret);
  });
  const access = new KubernetesAccess({
    reviewer,
    namespaces: { synced: true, annotations: () => ({}) },
    defaultAllowed: parseNamespaceGlobs('*'),
    logger,
  });
  const req = { headers: { authorization: `Bearer ${jwt({ exp: inAnHour() })}` }, socket: {} } as unknown as IncomingMessage;
  const verdict = await access.check(req, ['ml-service']);
  assert.equal(verdict.ok, false);
  assert.ok(!verdict.ok);
  assert.equal(verdict.status, 503);
  assert.equal(verdict.message, 'cannot verify the token now (LLMC_ERR_TOKEN_REVIEW_UNAVAILABLE: api-error); retry later');
  assert.ok(
    lines.some((l) => l.msg === 'TokenReview failed' && String(l.err).includes('audit-id')),
    'the detail is in the log',
  );
});

test('relay: a Kubernetes API that does not answer the TokenReview gives the agent 503 with Retry-After within --token-review-timeout', async (t) => {
  const kube = new KubeApiDouble();
  await kube.start();
  defer(t, () => kube.stop());
  const token = jwt({ exp: inAnHour() });
  kube.tokenReviews.set(token, { username: SA, audiences: ['llm-config'] });
  kube.setNamespace({ metadata: { name: 'team-a', annotations: { 'config.llm-dev-ops.io/allowed-namespaces': '*' } } });
  const held = Promise.withResolvers<void>();
  t.after(() => held.resolve());
  kube.beforeAnswer = async (request) => {
    if (request.path.endsWith('/tokenreviews')) await held.promise; // answers only when the test ends
  };
  const { relay } = await startKubernetesAuthRelay(t, kube, ['--token-review-timeout', '300ms']);
  const response = await fetch(`${relay.url}/api/v1/configs/ml-service?env=dev`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('retry-after'), '5');
  const { message } = (await response.json()) as { message: string };
  assert.equal(message, 'cannot verify the token now (LLMC_ERR_TOKEN_REVIEW_UNAVAILABLE: timeout); retry later');
});
