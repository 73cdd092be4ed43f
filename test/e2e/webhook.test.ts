// The webhook over real HTTPS: an AdmissionReview round trip, 400s for malformed
// bodies, a certificate rotation picked up without restart, and self-managed TLS with
// the caBundle patch and namespace defaults read through the Kubernetes API double.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { join } from 'node:path';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { generateTlsMaterial, splitPemBundle } from '../../webhook/tls-material.ts';
import { KubeApiDouble } from '../helpers/kube-api-double.ts';
import { spawnCli, tempDir, waitFor, webhookArgs } from '../helpers/cli-process.ts';
import { defer } from '../helpers/cleanup.ts';

type Answer = { status: number; body: string; peerFingerprint: string };

function post(
  url: string,
  ca: string,
  body: string,
  contentType = 'application/json',
  path = '/mutate',
  servername?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method: body === '' ? 'GET' : 'POST',
        ca,
        agent: false,
        ...(servername && { servername }),
        headers: { 'content-type': contentType },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: text,
            peerFingerprint: (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const review = (namespace: string, annotations: Record<string, string>) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'uid-42',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace,
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { generateName: 'web-', annotations },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
    },
  });

async function writePair(dir: string, name: string) {
  const material = await generateTlsMaterial({ commonName: name, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 1 });
  // Written as kubelet/cert-manager do: new files beside, then renamed over the old ones.
  await writeFile(join(dir, 'tls.key.new'), material.keyPem);
  await writeFile(join(dir, 'tls.crt.new'), material.certPem);
  await rename(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
  await rename(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
  return material;
}

test('AdmissionReview round trip over HTTPS; malformed bodies are 400; a rotated certificate is served without restart', async (t) => {
  const dir = await tempDir(t);
  const first = await writePair(dir, 'first');
  const webhook = spawnCli(t, webhookArgs(dir));
  const url = await webhook.listeningUrl();

  const answer = await post(
    url,
    first.caPem,
    review('apps', { 'config.llm-dev-ops.io/inject': 'true', 'config.llm-dev-ops.io/namespaces': 'ml-service' }),
  );
  assert.equal(answer.status, 200);
  const { response } = JSON.parse(answer.body);
  assert.equal(response.uid, 'uid-42');
  assert.equal(response.allowed, true);
  assert.equal(response.patchType, 'JSONPatch');
  assert.ok(
    JSON.parse(Buffer.from(response.patch, 'base64').toString()).some((op: { path: string }) => op.path === '/spec/initContainers'),
  );

  const denied = JSON.parse(
    (
      await post(
        url,
        first.caPem,
        review('apps', {
          'config.llm-dev-ops.io/inject': 'true',
          'config.llm-dev-ops.io/namespaces': 'a',
          'config.llm-dev-ops.io/poll-interval': 'soon',
        }),
      )
    ).body,
  );
  assert.deepEqual(denied.response, {
    uid: 'uid-42',
    allowed: false,
    status: { code: 400, message: 'config.llm-dev-ops.io/poll-interval=soon: not a duration (e.g. 30s, 5m, 1h30m, 250ms)' },
  });

  // A Deployment's pod template is judged at admission (issue 13 #7): refused with the same message, never patched.
  const deployment = JSON.parse(review('apps', {}));
  deployment.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
  deployment.request.object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      template: {
        metadata: {
          annotations: {
            'config.llm-dev-ops.io/inject': 'true',
            'config.llm-dev-ops.io/namespaces': 'a',
            'config.llm-dev-ops.io/poll-interval': 'soon',
          },
        },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
    },
  };
  const template = JSON.parse((await post(url, first.caPem, JSON.stringify(deployment))).body);
  assert.deepEqual(template.response, denied.response);

  // A non-string annotation value is the caller's bug: 400 naming the field, not a 500 (issue 12 #9).
  const nonString = JSON.parse(review('apps', {}));
  nonString.request.object.metadata.annotations = { 'config.llm-dev-ops.io/inject': true };
  const nonStringAnswer = await post(url, first.caPem, JSON.stringify(nonString));
  assert.equal(nonStringAnswer.status, 400);
  assert.match(
    JSON.parse(nonStringAnswer.body).error,
    /^request\.object\.metadata\.annotations\["config\.llm-dev-ops\.io\/inject"\]: a string/,
  );

  assert.equal((await post(url, first.caPem, '{not json')).status, 400);
  assert.equal((await post(url, first.caPem, JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }))).status, 400);
  assert.equal((await post(url, first.caPem, review('apps', {}), 'text/plain')).status, 400);

  const second = await writePair(dir, 'second');
  await webhook.waitForLog((l) => l.msg === 'serving certificate reloaded');
  const rotated = await post(url, second.caPem, review('apps', {}));
  assert.equal(rotated.status, 200);
  assert.equal(rotated.peerFingerprint, new X509Certificate(second.certPem).fingerprint256);
  await assert.rejects(post(url, first.caPem, review('apps', {})), /certificate|self.signed|unable to verify/i);
});

test('self-managed TLS: caBundle patched through the Kubernetes API (previous CA kept); namespace defaults from the informer', async (t) => {
  const dir = await tempDir(t);
  const api = new KubeApiDouble();
  await api.start();
  defer(t, () => api.stop());
  const previous = await generateTlsMaterial({ commonName: 'previous', dnsNames: ['x'], validityDays: 30 });
  api.webhookConfigs.set('llm-config-injector', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'llm-config-injector' },
    webhooks: [
      {
        name: 'inject.config.llm-dev-ops.io',
        clientConfig: {
          service: { name: 'llm-config-injector', namespace: 'llm-config', path: '/mutate' },
          caBundle: Buffer.from(previous.caPem).toString('base64'),
        },
      },
    ],
  });
  api.setNamespace({
    metadata: {
      name: 'apps',
      annotations: {
        'config.llm-dev-ops.io/inject': 'true',
        'config.llm-dev-ops.io/namespaces': 'from-namespace',
        'unrelated/annotation': 'x',
      },
    },
  });
  const webhook = spawnCli(t, [
    'webhook',
    '--addr',
    '127.0.0.1:0',
    '--tls-mode',
    'self-managed',
    '--kubeconfig',
    await api.writeKubeconfig(dir),
    '--central-url',
    'http://central:8080',
  ]);
  const url = await webhook.listeningUrl();

  const patch = api.requests.find((r) => r.method === 'PATCH')!;
  assert.equal(patch.contentType, 'application/json-patch+json');
  assert.equal(patch.path, '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/llm-config-injector');
  const bundle = Buffer.from((api.webhookConfigs.get('llm-config-injector') as any).webhooks[0].clientConfig.caBundle, 'base64').toString();
  const cas = splitPemBundle(bundle);
  assert.equal(cas.length, 2, 'new CA first, previous CA kept for the rollover');
  assert.equal(cas[1]!.trim(), previous.caPem.trim());

  // Kubernetes routes admissions only to ready endpoints: wait for /readyz (namespace cache synced).
  // The generated serving certificate names the Service; connect by IP with the servername it carries.
  const SERVICE = 'llm-config-injector.llm-config.svc';
  await waitFor(
    async () => ((await post(url, cas[0]!, '', 'text/plain', '/readyz', SERVICE)).status === 200 ? true : undefined),
    undefined,
    () => '/readyz',
  );
  const answer = (await post(url, cas[0]!, review('apps', {}), 'application/json', '/mutate', SERVICE)).body;
  const ops = JSON.parse(Buffer.from(JSON.parse(answer).response.patch, 'base64').toString());
  const init = ops.find((op: { path: string }) => op.path === '/spec/initContainers').value[0];
  assert.ok(init.args.includes('--namespaces=from-namespace'), 'the namespace annotation supplied the default');

  api.setNamespace({ metadata: { name: 'apps', annotations: { 'config.llm-dev-ops.io/inject': 'false' } } });
  await waitFor(
    async () => {
      const text = (await post(url, cas[0]!, review('apps', {}), 'application/json', '/mutate', SERVICE)).body;
      return JSON.parse(text).response.patch === undefined ? true : undefined;
    },
    undefined,
    () => 'the informer to pick up the namespace change',
  );
});

test('llm-config inject: YAML 1.1 octal modes, anchors and comments survive; pass-through documents are byte for byte (issue 12 #11)', async (t) => {
  const input = join(import.meta.dirname, '..', 'golden', 'inject', 'yaml11.input.yaml');
  const inject = spawnCli(t, ['inject', '-f', input, '--central-url', 'http://central:8080']);
  assert.equal(await inject.exited, 0, inject.stderrText.join('\n'));
  assert.equal(inject.stdout, await readFile(join(import.meta.dirname, '..', 'golden', 'inject', 'yaml11.output.yaml'), 'utf8'));
});
