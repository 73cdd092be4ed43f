// Pod identity end to end: the real relay CLI with --auth kubernetes against the
// Kubernetes API double (TokenReview, namespace list/watch) and the real dev-server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, writeValue } from '../helpers/cli-process.ts';
import { KubeApiDouble } from '../helpers/kube-api-double.ts';
import { defer } from '../helpers/cleanup.ts';
import { openWatch, startKubernetesAuthRelay } from './relay-helpers.ts';

const ANNOTATION = 'config.llm-dev-ops.io/allowed-namespaces';

function projectedToken(name: string): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k' })}.${part({ sub: name, aud: ['llm-config'], exp: Math.floor(Date.now() / 1000) + 3600 })}.sig`;
}

test('relay auth: 401 without or with a bad token, 200 where the namespace annotation allows, 403 elsewhere; one TokenReview per token; annotation edits apply live', async (t) => {
  const kube = new KubeApiDouble();
  await kube.start();
  defer(t, () => kube.stop());
  const tokenA = projectedToken('a');
  const tokenB = projectedToken('b');
  const wrongAudience = projectedToken('aud');
  kube.tokenReviews.set(tokenA, {
    username: 'system:serviceaccount:team-a:app',
    audiences: ['llm-config'],
    extra: { 'authentication.kubernetes.io/pod-name': ['app-a-1'] },
  });
  kube.tokenReviews.set(tokenB, { username: 'system:serviceaccount:team-b:default', audiences: ['llm-config'] });
  kube.tokenReviews.set(wrongAudience, { username: 'system:serviceaccount:team-a:app', audiences: ['vault'] });
  kube.setNamespace({ metadata: { name: 'team-a', annotations: { [ANNOTATION]: 'ml-service, team/*' } } });
  kube.setNamespace({ metadata: { name: 'team-b' } });
  const { central, relay } = await startKubernetesAuthRelay(t, kube, ['--default-allowed', '-']);
  const read = (path: string, token?: string) =>
    fetch(`${relay.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const message = async (response: Response) => ((await response.json()) as { message: string }).message;

  const anonymous = await read('/api/v1/configs/ml-service');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
  assert.match(await message(anonymous), /bearer token is required/);
  const unknown = await read('/api/v1/configs/ml-service', projectedToken('stranger'));
  assert.equal(unknown.status, 401);
  assert.match(await message(unknown), /not accepted/);
  assert.equal((await read('/api/v1/configs/ml-service', wrongAudience)).status, 401);
  assert.equal((await read('/health')).status, 200, '/health needs no token');

  for (let i = 0; i < 10; i++) assert.equal((await read('/api/v1/configs/ml-service', tokenA)).status, 200);
  assert.equal((await read('/api/v1/configs/team%2Fml/owner', tokenA)).status, 200);
  const denied = await read('/api/v1/configs/billing', tokenA);
  assert.equal(denied.status, 403);
  assert.match(
    await message(denied),
    /service account team-a\/app may not read namespace "billing" \(allowed: ml-service,team\/\*, from annotation config\.llm-dev-ops\.io\/allowed-namespaces of namespace team-a\)/,
  );
  const watchDenied = await fetch(`${relay.url}/api/v1/watch?namespaces=ml-service,billing&env=dev`, {
    headers: { authorization: `Bearer ${tokenA}` },
  });
  assert.equal(watchDenied.status, 403);
  assert.match(await message(watchDenied), /"billing"/);
  const defaultDenied = await read('/api/v1/configs/ml-service', tokenB);
  assert.equal(defaultDenied.status, 403);
  assert.match(
    await message(defaultDenied),
    /team-b\/default may not read namespace "ml-service" \(allowed: -, from the relay default \(--default-allowed\)\)/,
  );
  const watch = await openWatch(`${relay.url}/api/v1/watch?namespaces=ml-service&env=dev`, { authorization: `Bearer ${tokenA}` });
  t.after(() => watch.close());
  assert.equal(watch.status, 200);

  // An admin edits team-b's annotation: it applies without a restart.
  kube.setNamespace({ metadata: { name: 'team-b', annotations: { [ANNOTATION]: '*' } } });
  await waitFor(async () => ((await read('/api/v1/configs/ml-service', tokenB)).status === 200 ? true : undefined));
  // …and a broken annotation allows nothing.
  kube.setNamespace({ metadata: { name: 'team-b', annotations: { [ANNOTATION]: 'te*m' } } });
  await waitFor(async () => ((await read('/api/v1/configs/ml-service', tokenB)).status === 403 ? true : undefined));

  const reviews = kube.requests.filter((r) => r.path === '/apis/authentication.k8s.io/v1/tokenreviews');
  const perToken = new Map<string, number>();
  for (const r of reviews) {
    const token = (r.body as { spec: { token: string; audiences: string[] } }).spec.token;
    assert.deepEqual((r.body as { spec: { audiences: string[] } }).spec.audiences, ['llm-config']);
    perToken.set(token, (perToken.get(token) ?? 0) + 1);
  }
  assert.equal(perToken.get(tokenA), 1, 'one TokenReview for every request with token A');
  assert.equal(perToken.get(tokenB), 1);
  assert.ok(
    [...perToken.values()].every((n) => n === 1),
    JSON.stringify([...perToken.values()]),
  );

  // The fleet view knows the pod by its pod-name claim and what it was sent.
  const fleet = (await (await fetch(`${relay.admin}/fleet`)).json()) as {
    revision: number;
    pods: Array<{ pod: string | null; namespace: string; lastRevision: number; streams: number }>;
  };
  const podA = fleet.pods.find((p) => p.pod === 'app-a-1');
  assert.ok(podA, JSON.stringify(fleet));
  assert.equal(podA.namespace, 'team-a');
  assert.equal(podA.streams, 1);

  // "Which pods hold revision X, and how long until all had it": one request.
  await writeValue(central.url, 'ml-service', 'model', 'fleet-check');
  const put = await waitFor(() => watch.events.find((e) => e.event === 'put' && e.data.includes('fleet-check')));
  type RevisionReport = {
    namespace: string;
    pods: number;
    holding: Array<{ id: string; sinceMs: number }>;
    missing: string[];
    convergedAfterMs: number | null;
  };
  const report = (await (await fetch(`${relay.admin}/fleet?revision=${put.id}`)).json()) as RevisionReport;
  assert.equal(report.namespace, 'ml-service');
  assert.ok(
    report.holding.some((h) => h.id === 'team-a/app-a-1'),
    JSON.stringify(report),
  );
  assert.deepEqual(
    report.missing.filter((id) => id === 'team-a/app-a-1'),
    [],
  );
  assert.equal(typeof report.convergedAfterMs, report.missing.length === 0 ? 'number' : 'object');
  assert.equal((await fetch(`${relay.admin}/fleet?revision=12`)).status, 404);
  assert.equal((await fetch(`${relay.admin}/fleet?revision=abc`)).status, 400);
  assert.match(await (await fetch(`${relay.admin}/metrics`)).text(), /^llm_config_relay_fleet_convergence_seconds /m);
});
