// Access revoked while a watch stream is open: the stream must end, not keep
// delivering. Three ways: the namespace annotation is removed, the Kubernetes
// namespace is deleted, the token expires. Real relay CLI, Kubernetes API double,
// real dev-server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiDouble } from '../helpers/kube-api-double.ts';
import { defer } from '../helpers/cleanup.ts';
import { openWatch, startKubernetesAuthRelay } from './relay-helpers.ts';

const ANNOTATION = 'config.llm-dev-ops.io/allowed-namespaces';

function projectedToken(name: string, lifetimeSeconds = 3600): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + lifetimeSeconds;
  return `${part({ alg: 'RS256', kid: 'k' })}.${part({ sub: name, aud: ['llm-config'], exp })}.sig`;
}

test('relay: open watch streams end when the annotation is removed, the namespace deleted, or the token expires', async (t) => {
  const kube = new KubeApiDouble();
  await kube.start();
  defer(t, () => kube.stop());
  const tokens = {
    annotated: projectedToken('a'),
    deleted: projectedToken('d'),

    steady: projectedToken('s'),
  };
  const user = (ns: string) => ({ username: `system:serviceaccount:${ns}:app`, audiences: ['llm-config'] });
  kube.tokenReviews.set(tokens.annotated, user('team-a'));
  kube.tokenReviews.set(tokens.deleted, user('team-d'));
  kube.tokenReviews.set(tokens.steady, user('team-s'));
  for (const ns of ['team-a', 'team-d', 'team-e', 'team-s'])
    kube.setNamespace({ metadata: { name: ns, annotations: { [ANNOTATION]: 'ml-service' } } });
  const { relay } = await startKubernetesAuthRelay(t, kube, ['--default-allowed', '-']);
  const watch = async (token: string) => {
    const w = await openWatch(`${relay.url}/api/v1/watch?namespaces=ml-service&env=dev`, { authorization: `Bearer ${token}` });
    t.after(() => w.close());
    assert.equal(w.status, 200);
    return w;
  };
  const expiring = projectedToken('e', 3); // made now: the relay took a while to start
  kube.tokenReviews.set(expiring, user('team-e'));
  const streams = {
    annotated: await watch(tokens.annotated),
    deleted: await watch(tokens.deleted),
    expiring: await watch(expiring),
    steady: await watch(tokens.steady),
  };
  let steadyEnded = false;
  void streams.steady.ended.then(() => (steadyEnded = true));

  kube.setNamespace({ metadata: { name: 'team-a' } }); // annotation removed; the default allows nothing
  await streams.annotated.ended;
  kube.deleteNamespace('team-d');
  await streams.deleted.ended;
  await streams.expiring.ended; // at exp, about 3 s after the token was made

  // Reconnecting meets today's verdict; a pod whose access did not change keeps its stream.
  const again = await fetch(`${relay.url}/api/v1/configs/ml-service?env=dev`, { headers: { authorization: `Bearer ${tokens.deleted}` } });
  assert.equal(again.status, 403);
  assert.match(((await again.json()) as { message: string }).message, /namespace team-d was deleted/);
  assert.equal(
    (await fetch(`${relay.url}/api/v1/configs/ml-service?env=dev`, { headers: { authorization: `Bearer ${tokens.annotated}` } })).status,
    403,
  );
  assert.equal(steadyEnded, false, 'the unaffected stream is still open');
  const metrics = await (await fetch(`${relay.admin}/metrics`)).text();
  assert.match(metrics, /^llm_config_relay_streams_revoked_total\{reason="denied"\} 2$/m);
  assert.match(metrics, /^llm_config_relay_streams_revoked_total\{reason="expired"\} 1$/m);
});
