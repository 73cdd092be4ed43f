// Self-managed webhook TLS with several replicas (issue 13, item 5), in process against
// the Kubernetes API double: one CA and certificate shared through a Secret made under a
// Lease, and a caBundle patched with optimistic concurrency so no replica's CA is lost.
// Interleavings are forced by holding requests in the double until all replicas sent
// theirs, so the races are certain rather than lucky.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { defer } from '../helpers/cleanup.ts';
import { tempDir, waitFor } from '../helpers/cli-process.ts';
import { startKubeApiWithInjector, type KubeApiDouble, type RecordedRequest } from '../helpers/kube-api-double.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { loadKubeConfig, publishCaBundle, SelfManagedTls, selfManagedObjectName } from '../../webhook/kube-api.ts';
import { generateTlsMaterial, serviceDnsNames, splitPemBundle } from '../../webhook/tls-material.ts';

const SERVICE = { webhookConfigName: 'injector', serviceName: 'injector', serviceNamespace: 'llm-config' };
const SECRET_KEY = `secrets/llm-config/${selfManagedObjectName('injector')}`;
const LEASE_KEY = `leases/llm-config/${selfManagedObjectName('injector')}`;

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const api = await startKubeApiWithInjector(t);
  const config = loadKubeConfig(await api.writeKubeconfig(await tempDir(t)));
  return { api, config };
}

/** Holds requests matching `match` until `count` of them arrived, then lets them all go. */
function barrier(api: KubeApiDouble, count: number, match: (r: RecordedRequest) => boolean): void {
  const waiting: Array<() => void> = [];
  api.beforeAnswer = async (request) => {
    if (!match(request) || waiting.length >= count) return;
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === count) for (const release of waiting) release();
    });
  };
}

const bundleOf = (api: KubeApiDouble, webhook = 0) =>
  Buffer.from((api.webhookConfigs.get('injector') as any).webhooks[webhook].clientConfig.caBundle ?? '', 'base64').toString();
const trusts = (bundle: string, certPem: string) =>
  splitPemBundle(bundle).some((ca) => new X509Certificate(certPem).verify(new X509Certificate(ca).publicKey));

test('three replicas starting at once share one CA and certificate; the Secret is made once, under the Lease', async (t) => {
  const { api, config } = await setup(t);
  barrier(api, 3, (r) => r.method === 'GET' && r.path.includes('/secrets/')); // all three see "no Secret" first
  const replicas = ['a', 'b', 'c'].map(
    (identity) => new SelfManagedTls(config, { ...SERVICE, validityMs: 30 * 86_400_000, identity }, testLogger().logger),
  );
  const pairs = await Promise.all(replicas.map((r) => r.start()));
  assert.equal(new Set(pairs.map((p) => p.cert)).size, 1, 'one certificate for all');
  const creates = api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/secrets'));
  assert.equal(creates.length, 1, 'one replica made the Secret; the others waited for the Lease and read it');
  for (const webhook of [0, 1]) assert.ok(trusts(bundleOf(api, webhook), pairs[0]!.cert), `webhook ${webhook} trusts it`);
  assert.equal(splitPemBundle(bundleOf(api)).length, 1);
  assert.equal(api.objects.get(LEASE_KEY)?.spec.holderIdentity, undefined, 'the Lease was released');
  const cert = new X509Certificate(pairs[0]!.cert);
  for (const name of serviceDnsNames('injector', 'llm-config')) assert.ok(cert.checkHost(name, { subject: 'never' }), name);
});

test('restarts reuse the shared certificate and leave the caBundle alone', async (t) => {
  const { api, config } = await setup(t);
  const first = await new SelfManagedTls(config, { ...SERVICE, validityMs: 30 * 86_400_000 }, testLogger().logger).start();
  const patches = () => api.requests.filter((r) => r.method === 'PATCH').length;
  const before = patches();
  for (let restart = 0; restart < 5; restart++) {
    const pair = await new SelfManagedTls(config, { ...SERVICE, validityMs: 30 * 86_400_000 }, testLogger().logger).start();
    assert.equal(pair.cert, first.cert);
  }
  assert.equal(patches(), before, 'nothing to patch: the bundle already holds the CA');
  assert.ok(trusts(bundleOf(api), first.cert));
});

test('caBundle: two writers at once both end up in it (resourceVersion test op, retried on 422)', async (t) => {
  const { api, config } = await setup(t);
  const [one, two] = await Promise.all(
    ['one', 'two'].map((cn) => generateTlsMaterial({ commonName: cn, dnsNames: ['x'], validityDays: 2 })),
  );
  barrier(api, 2, (r) => r.method === 'GET' && r.path.includes('mutatingwebhookconfigurations')); // both read the same version
  const { logger, lines } = testLogger();
  await Promise.all([publishCaBundle(config, 'injector', one!.caPem, logger), publishCaBundle(config, 'injector', two!.caPem, logger)]);
  const bundle = bundleOf(api);
  assert.ok(trusts(bundle, one!.certPem) && trusts(bundle, two!.certPem), 'neither CA was lost');
  assert.ok(
    api.requests.some((r) => r.method === 'PATCH' && (r.body as Array<{ op: string }>)[0]!.op === 'test'),
    'patches are guarded by a test of the resourceVersion',
  );
  assert.ok(
    lines.some((l) => l.msg === 'caBundle patched' && l.attempt === 2),
    'the loser recomputed and retried',
  );
});

test('a certificate with under a third of its life left is renewed; the old CA stays in the bundle; running replicas reload', async (t) => {
  const { api, config } = await setup(t);
  const old = await generateTlsMaterial({ commonName: 'old', dnsNames: serviceDnsNames('injector', 'llm-config'), validityDays: 1 });
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  api.objects.set(SECRET_KEY, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: selfManagedObjectName('injector'), namespace: 'llm-config', resourceVersion: '5' },
    data: { 'tls.crt': b64(old.certPem), 'tls.key': b64(old.keyPem), 'ca.crt': b64(old.caPem) },
  });
  const running = new SelfManagedTls(config, { ...SERVICE, validityMs: 30 * 86_400_000, checkIntervalMs: 50 }, testLogger().logger);
  const served = await running.start();
  assert.equal(served.cert, old.certPem, 'a valid shared certificate with more than a third left is used as it is');

  // Age it: the same Secret, but with a certificate whose last third has begun (valid from five
  // minutes ago, the clock-skew margin, to 86 s from now).
  const due = await generateTlsMaterial({ commonName: 'due', dnsNames: serviceDnsNames('injector', 'llm-config'), validityDays: 0.001 });
  const secret = api.objects.get(SECRET_KEY)!;
  secret.data = { 'tls.crt': b64(due.certPem), 'tls.key': b64(due.keyPem), 'ca.crt': b64(`${due.caPem}${old.caPem}`) };
  const reloaded: string[] = [];
  running.watch((pair) => reloaded.push(pair.cert));
  defer(t, async () => running.close());
  await waitFor(
    () => reloaded.length > 0,
    10_000,
    () => 'the running replica to renew and reload',
  );
  running.close();
  const renewed = reloaded[0]!;
  assert.notEqual(renewed, due.certPem);
  const bundle = bundleOf(api);
  assert.ok(trusts(bundle, renewed), 'the new CA is published');
  assert.ok(trusts(bundle, old.certPem), 'the previous, still valid CA stays for replicas not yet reloaded');
  assert.ok(trusts(Buffer.from(api.objects.get(SECRET_KEY)!.data['ca.crt'], 'base64').toString(), old.certPem));
});

test('a hostile Secret (garbage, wrong names, mismatched key) is replaced, never served', async (t) => {
  const { api, config } = await setup(t);
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const other = await generateTlsMaterial({ commonName: 'evil', dnsNames: ['evil.example'], validityDays: 30 });
  const mine = await generateTlsMaterial({ commonName: 'x', dnsNames: serviceDnsNames('injector', 'llm-config'), validityDays: 30 });
  const variants = [
    {
      'tls.crt': b64('not a certificate'),
      'tls.key': b64('nope'),
      'ca.crt': b64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    },
    { 'tls.crt': b64(other.certPem), 'tls.key': b64(other.keyPem), 'ca.crt': b64(other.caPem) },
    { 'tls.crt': b64(mine.certPem), 'tls.key': b64(other.keyPem), 'ca.crt': b64(mine.caPem) },
  ];
  for (const data of variants) {
    api.objects.set(SECRET_KEY, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'x', namespace: 'llm-config', resourceVersion: '9' },
      data,
    });
    const { logger, lines } = testLogger();
    const pair = await new SelfManagedTls(config, { ...SERVICE, validityMs: 30 * 86_400_000 }, logger).start();
    assert.notEqual(pair.cert, Buffer.from(data['tls.crt'], 'base64').toString());
    assert.ok(new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key)));
    assert.ok(trusts(bundleOf(api), pair.cert));
    assert.ok(lines.some((l) => l.msg === 'shared certificate missing or due: taking the lease' && typeof l.reason === 'string'));
  }
});

test('a Lease held by a live replica is waited for; an expired one is taken over', async (t) => {
  const { api, config } = await setup(t);
  const lease = (holder: string, renewed: Date) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: selfManagedObjectName('injector'), namespace: 'llm-config', resourceVersion: '7' },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: renewed.toISOString() },
  });
  api.objects.set(LEASE_KEY, lease('crashed-replica', new Date(Date.now() - 60_000)));
  const taken = await new SelfManagedTls(config, { ...SERVICE, validityMs: 30 * 86_400_000 }, testLogger().logger).start();
  assert.ok(trusts(bundleOf(api), taken.cert), 'an expired Lease does not block');

  api.objects.delete(SECRET_KEY);
  api.objects.set(LEASE_KEY, lease('live-replica', new Date()));
  const waiting = new SelfManagedTls(config, { ...SERVICE, validityMs: 30 * 86_400_000 }, testLogger().logger).start();
  let settled = false;
  void waiting.finally(() => {
    settled = true;
  });
  // It keeps asking for the Lease and creates nothing while the live holder has it.
  const mark = api.requests.length;
  const leaseReads = () => api.requests.slice(mark).filter((r) => r.method === 'GET' && r.path.includes('/leases/')).length;
  await waitFor(
    () => leaseReads() >= 3,
    10_000,
    () => 'three Lease reads',
  );
  assert.equal(settled, false, 'waits while the live holder has the Lease');
  assert.equal(api.objects.has(SECRET_KEY), false);
  const held = api.objects.get(LEASE_KEY)!;
  api.objects.set(LEASE_KEY, { ...held, spec: { ...held.spec, holderIdentity: undefined } }); // the holder releases it
  const pair = await waiting;
  assert.ok(trusts(bundleOf(api), pair.cert));
});

test('a hostile caBundle already in the configuration (garbage, expired CA) is cleaned, never a crash', async (t) => {
  const { api, config } = await setup(t);
  const expired = await generateTlsMaterial({ commonName: 'expired', dnsNames: ['x'], validityDays: -1 });
  const garbage = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
  const mwc = api.webhookConfigs.get('injector') as any;
  mwc.webhooks[0].clientConfig.caBundle = Buffer.from(`${garbage}${expired.caPem}`).toString('base64');
  mwc.webhooks[1].clientConfig.caBundle = 'not base64 at all!';
  const pair = await new SelfManagedTls(config, { ...SERVICE, validityMs: 30 * 86_400_000 }, testLogger().logger).start();
  for (const webhook of [0, 1]) {
    const cas = splitPemBundle(bundleOf(api, webhook));
    assert.equal(cas.length, 1, `webhook ${webhook}: only the live CA is left`);
    assert.ok(trusts(cas[0]!, pair.cert));
  }
});
