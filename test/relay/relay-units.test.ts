// The relay's pure parts: namespace globs (also used by the webhook), the upstream
// budget (property: no one-second window ever holds more than rps starts), token
// review caching, the event log's resume rule and the state on disk.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { firstDisallowed, globsAllow, parseNamespaceGlobs } from '../../src/access/namespace-globs.ts';
import { EventLog } from '../../src/central-api-server/event-log.ts';
import { UpstreamBudget } from '../../relay/upstream-budget.ts';
import { TokenReviewer, ttlOf } from '../../relay/token-auth.ts';
import { createRelayMetrics } from '../../relay/relay-metrics.ts';
import { NamespaceSlots } from '../../relay/namespace-slots.ts';
import { RelayState } from '../../relay/relay-state.ts';
import { StateSecret } from '../../relay/state-secret.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import { testLogger } from '../helpers/test-logger.ts';
import type { CentralClient } from '../../src/central/client.ts';

const seed = Number(process.env.LLM_CONFIG_TEST_SEED ?? Date.now());

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.signature`;
}

test('namespace globs: names, "*", prefix globs, "-" for none; anything else is refused with what is accepted', () => {
  const globs = parseNamespaceGlobs(' ml-service , team/* ');
  assert.equal(globsAllow(globs, 'ml-service'), true);
  assert.equal(globsAllow(globs, 'team/ml'), true);
  assert.equal(globsAllow(globs, 'team/ml/deep'), true);
  assert.equal(globsAllow(globs, 'team'), false, 'team/* is below team/, not team itself');
  assert.equal(globsAllow(globs, 'teams/x'), false);
  assert.equal(globsAllow(globs, 'ml-service-2'), false);
  assert.equal(firstDisallowed(globs, ['ml-service', 'billing', 'team/a']), 'billing');
  assert.equal(globsAllow(parseNamespaceGlobs('*'), 'anything/at/all'), true);
  assert.equal(globsAllow(parseNamespaceGlobs('-'), 'ml-service'), false);
  assert.equal(parseNamespaceGlobs('').text, '-');
  for (const bad of ['te*m', '../x', 'a,,b/**', '*/x', 'team/*/x', 'a b']) {
    assert.throws(
      () => parseNamespaceGlobs(bad),
      (e: Error & { code?: string }) => e.code === 'LLMC_ERR_INVALID_VALUE' && /"team\/\*"/.test(e.message),
      bad,
    );
  }
});

test('upstream budget: no one-second window ever holds more than rps request starts (property)', () => {
  try {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 300 }),
        (rps, arrivals) => {
          const budget = new UpstreamBudget(rps);
          const starts: number[] = [];
          let clock = 0;
          for (const gap of arrivals.map((a) => a % 400)) {
            clock += gap;
            // a request arriving at `clock` starts when the budget lets it
            const at = budget.nextStartAt(clock);
            budget.take(at);
            starts.push(at);
            clock = at;
          }
          for (let i = 0; i < starts.length; i++) {
            const inWindow = starts.filter((s) => s >= starts[i]! && s < starts[i]! + 1000).length;
            if (inWindow > rps) return false;
          }
          return true;
        },
      ),
      { seed, numRuns: 200 },
    );
  } catch (error) {
    throw new Error(`property failed with LLM_CONFIG_TEST_SEED=${seed}: ${(error as Error).message}`);
  }
});

test('upstream budget: a pause (429) holds every request until it ends', () => {
  const budget = new UpstreamBudget(10);
  budget.pause(5000, 1000);
  assert.equal(budget.nextStartAt(1000), 6000);
  budget.take(6000);
  assert.equal(budget.nextStartAt(6000), 6100);
});

test('token ttl: the exp claim when readable, a short fallback otherwise', () => {
  const now = 1_000_000_000_000;
  assert.equal(ttlOf(jwt({ exp: now / 1000 + 600 }), now), 600_000);
  assert.ok(ttlOf(jwt({ exp: now / 1000 - 1 }), now) <= 0, 'an expired token is not cached');
  assert.equal(ttlOf('not-a-jwt', now), 300_000);
  assert.equal(ttlOf('a.!!!.c', now), 300_000);
  assert.equal(ttlOf(jwt({ exp: 'soon' }), now), 300_000);
  assert.equal(ttlOf(jwt({ exp: now / 1000 + 10 * 86_400 }), now), 86_400_000, 'capped at a day');
});

function fakeReviewApi(answer: (token: string) => unknown) {
  const calls: string[] = [];
  return {
    calls,
    api: {
      async createTokenReview(request: { body: { spec: { token?: string } } }) {
        calls.push(request.body.spec.token ?? '');
        await new Promise((r) => setImmediate(r));
        return answer(request.body.spec.token ?? '') as never;
      },
    },
  };
}

test('token review: one review per token while it lives, shared by concurrent requests; errors are not cached', async () => {
  const { logger } = testLogger();
  const metrics = createRelayMetrics(createRegistry({ processMetrics: false }));
  const good = jwt({ exp: Math.floor(Date.now() / 1000) + 3600 });
  const bad = jwt({ exp: Math.floor(Date.now() / 1000) + 3600, n: 2 });
  const flaky = jwt({ exp: Math.floor(Date.now() / 1000) + 3600, n: 3 });
  let failing = true;
  const { api, calls } = fakeReviewApi((token) => {
    if (token === flaky && failing) throw new Error('connection refused');
    return token === good || token === flaky
      ? {
          status: {
            authenticated: true,
            audiences: ['llm-config'],
            user: { username: 'system:serviceaccount:team-a:app', extra: { 'authentication.kubernetes.io/pod-name': ['app-1'] } },
          },
        }
      : { status: { authenticated: false, error: 'invalid bearer token' } };
  });
  const reviewer = new TokenReviewer({ api, audience: 'llm-config', logger, metrics });
  const results = await Promise.all(Array.from({ length: 50 }, () => reviewer.review(good)));
  assert.deepEqual(results[0], {
    ok: true,
    identity: {
      username: 'system:serviceaccount:team-a:app',
      namespace: 'team-a',
      serviceAccount: 'app',
      podName: 'app-1',
      expiresAt: (results[0] as { identity: { expiresAt: number } }).identity.expiresAt,
    },
  });
  await reviewer.review(good);
  assert.equal(calls.filter((t) => t === good).length, 1, 'one TokenReview for 51 requests');
  assert.equal((await reviewer.review(bad)).ok, false);
  assert.equal((await reviewer.review(bad)).ok, false);
  assert.equal(calls.filter((t) => t === bad).length, 1, 'a rejection is cached too');
  await assert.rejects(reviewer.review(flaky));
  failing = false;
  assert.equal((await reviewer.review(flaky)).ok, true, 'an API failure is asked again next time');
});

test('token review: wrong audience and users that are not service accounts are rejected', async () => {
  const { logger } = testLogger();
  const metrics = createRelayMetrics(createRegistry({ processMetrics: false }));
  const aud = jwt({ exp: Math.floor(Date.now() / 1000) + 3600, n: 'aud' });
  const { api } = fakeReviewApi((token) => ({
    status:
      token === aud
        ? { authenticated: true, audiences: ['vault'], user: { username: 'system:serviceaccount:a:b' } }
        : { authenticated: true, audiences: ['llm-config'], user: { username: 'kubernetes-admin' } },
  }));
  const reviewer = new TokenReviewer({ api, audience: 'llm-config', logger, metrics });
  assert.match((await reviewer.review(aud)).ok ? '' : ((await reviewer.review(aud)) as { reason: string }).reason, /audience "llm-config"/);
  const user = await reviewer.review(jwt({ exp: Math.floor(Date.now() / 1000) + 3600, n: 'user' }));
  assert.equal(user.ok, false);
  assert.match((user as { reason: string }).reason, /not a service account/);
});

test('event log: resumes within its window; an id from before it or from the future cannot resume', () => {
  const log = new EventLog<{ revision: number; ns: string }>(3);
  for (let r = 11; r <= 15; r++) log.push({ revision: r, ns: r % 2 ? 'a' : 'b' });
  assert.deepEqual(
    log.since(13, 15, () => true)?.map((e) => e.revision),
    [14, 15],
  );
  assert.deepEqual(
    log.since(12, 15, (e) => e.ns === 'a')?.map((e) => e.revision),
    [13, 15],
  );
  assert.deepEqual(
    log.since(15, 15, () => true),
    [],
  );
  assert.equal(
    log.since(11, 15, () => true),
    undefined,
    'older than the log',
  );
  assert.equal(
    log.since(99, 15, () => true),
    undefined,
    'from the future (another replica or lifetime)',
  );
});

test('relay state: saved sealed, restored marked stale; corrupt or foreign state is ignored, never fatal', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'llmc-relay-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { logger, lines } = testLogger();
  const key = Buffer.alloc(32, 7);
  const makeSlots = () =>
    new NamespaceSlots({
      client: {} as CentralClient,
      budget: new UpstreamBudget(5),
      pollIntervalMs: 5000,
      idleTimeoutMs: 60_000,
      maxSlots: 10,
      firstLoadWaitMs: 100,
      resyncIntervalMs: 600_000,
      backoff: { baseMs: 1000, capMs: 60_000 },
      logger,
      metrics: createRelayMetrics(createRegistry({ processMetrics: false })),
    });
  const slots = makeSlots();
  const entry = { id: 'i1', namespace: 'ml-service', key: 'model', value: 'gpt-4o', environment: 'production', version: 3 };
  slots.restore('production', new Map([['ml-service', [entry]]]), Date.now());
  const state = new RelayState({ dir, centralUrl: 'http://upstream/', key, slots, logger });
  state.changed('production');
  await state.flush();

  const again = makeSlots();
  assert.equal(await new RelayState({ dir, centralUrl: 'http://upstream/', key, slots: again, logger }).restore(), 1);
  const slot = again.get('production', 'ml-service')!;
  assert.deepEqual(slot.data.get('model'), entry);
  assert.equal(slot.store.loaded, true);

  const wrongKey = makeSlots();
  assert.equal(
    await new RelayState({ dir, centralUrl: 'http://upstream/', key: Buffer.alloc(32, 8), slots: wrongKey, logger }).restore(),
    0,
  );
  const otherUpstream = makeSlots();
  assert.equal(await new RelayState({ dir, centralUrl: 'http://elsewhere/', key, slots: otherUpstream, logger }).restore(), 0);
  await mkdir(join(dir, 'staging'), { recursive: true });
  await writeFile(join(dir, 'staging', 'snapshot.json'), '{"format":"llm-config-snapshot","ver');
  assert.equal(await new RelayState({ dir, centralUrl: 'http://upstream/', key, slots: makeSlots(), logger }).restore(), 1);
  assert.ok(lines.some((l) => l.msg === 'state ignored; that environment starts cold' && l.environment === 'staging'));
});

test('state Secret: a key that is not a state document (a CA, a sealing key put there by mistake) survives every write', async () => {
  const stored: { data: Record<string, string>; resourceVersion: number } = {
    data: { 'ca.crt': Buffer.from('-----BEGIN CERTIFICATE-----').toString('base64'), 'state.key': 'a2V5' },
    resourceVersion: 1,
  };
  const api = {
    readNamespacedSecret: async () => ({
      metadata: { name: 's', resourceVersion: String(stored.resourceVersion) },
      data: { ...stored.data },
    }),
    replaceNamespacedSecret: async ({ body }: { body: { data?: Record<string, string> } }) => {
      stored.data = { ...body.data };
      stored.resourceVersion++;
      return body;
    },
    createNamespacedSecret: async () => assert.fail('the Secret exists'),
  };
  const { logger } = testLogger();
  const secret = new StateSecret({ api: api as never, name: 's', namespace: 'ns', replica: 'r1', logger, minGapMs: 0 });
  secret.put('development', Buffer.from(JSON.stringify({ savedAt: new Date().toISOString(), namespaces: {} })));
  await secret.flush();
  assert.deepEqual(Object.keys(stored.data).sort(), ['ca.crt', 'r1.development.json.gz', 'state.key']);
  assert.equal(stored.data['state.key'], 'a2V5');
});
