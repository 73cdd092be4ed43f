// Issue 13, item 5, end to end: three real `llm-config webhook --tls-mode self-managed`
// processes against the Kubernetes API double, one of them restarted four times. After
// every start, each live replica's serving certificate must verify against the caBundle
// the API server would use: no replica's pods may be admitted uninjected because its CA
// fell out of the bundle.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { once } from 'node:events';
import { startKubeApiWithInjector } from '../helpers/kube-api-double.ts';
import { spawnCli, tempDir, type CliProcess } from '../helpers/cli-process.ts';

// Three processes start at once on a busy machine: the wait is bounded by the test timeout only.
const listening = async (replica: CliProcess) => String((await replica.waitForLog((l) => l.msg === 'listening')).url);

const SERVER_NAME = 'injector.llm-config.svc';

/** Connects as the API server would: trusting only the caBundle, checking the Service's name. */
async function verifiedBy(url: string, caBundle: string): Promise<{ authorized: boolean; error?: string }> {
  const { port } = new URL(url);
  const socket = connect({ host: '127.0.0.1', port: Number(port), servername: SERVER_NAME, ca: caBundle, rejectUnauthorized: false });
  await once(socket, 'secureConnect');
  const result = { authorized: socket.authorized, error: socket.authorizationError?.toString() };
  socket.destroy();
  return result;
}

test('self-managed TLS: three replicas and four restarts all serve a certificate the caBundle trusts', async (t) => {
  const dir = await tempDir(t);
  const api = await startKubeApiWithInjector(t);
  const kubeconfig = await api.writeKubeconfig(dir);
  const start = () =>
    spawnCli(t, [
      'webhook',
      ...['--addr', '127.0.0.1:0', '--tls-mode', 'self-managed', '--kubeconfig', kubeconfig, '--no-namespace-defaults'],
      ...['--webhook-config-name', 'injector', '--service-name', 'injector', '--service-namespace', 'llm-config'],
      ...['--central-url', 'http://central:8080'],
    ]);
  const bundle = (webhook: number) =>
    Buffer.from((api.webhookConfigs.get('injector') as any).webhooks[webhook].clientConfig.caBundle ?? '', 'base64').toString();

  const replicas: CliProcess[] = [start(), start(), start()];
  const urls = await Promise.all(replicas.map(listening));
  const check = async (when: string) => {
    for (const webhook of [0, 1])
      for (const url of urls)
        assert.deepEqual(
          await verifiedBy(url, bundle(webhook)),
          { authorized: true, error: undefined },
          `${when}: ${url}, webhook ${webhook}`,
        );
  };
  await check('three replicas started together');

  for (let restart = 1; restart <= 4; restart++) {
    await replicas[0]!.stop();
    replicas[0] = start();
    urls[0] = await listening(replicas[0]!);
    await check(`after restart ${restart}`);
  }
  const creates = api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/secrets'));
  assert.equal(creates.length, 1, 'the shared certificate was made once');
});
