// --state-secret: a relay writes its last-known-good to a Kubernetes Secret (the API
// double); a replica started on an empty --state-dir while upstream is down restores
// it from there, is ready, and serves it marked stale.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCentral, tempDir, waitFor } from '../helpers/cli-process.ts';
import { KubeApiDouble } from '../helpers/kube-api-double.ts';
import { defer } from '../helpers/cleanup.ts';
import { startRelayCli } from './relay-helpers.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');

test('state Secret: a replica started during an outage on an empty state dir serves the last-known-good', async (t) => {
  const kube = new KubeApiDouble();
  await kube.start();
  defer(t, () => kube.stop());
  const dir = await tempDir(t);
  const kubeconfig = await kube.writeKubeconfig(dir);
  const central = await startCentral(t, ['--seed', SEED]);
  const common = ['--auth', 'none', '--kubeconfig', kubeconfig, '--state-secret', 'relay-state', '--state-secret-namespace', 'llm-config'];
  const first = await startRelayCli(t, central.url, [
    ...common,
    '--state-dir',
    join(dir, 'a'),
    '--namespaces',
    'ml-service',
    '--environment',
    'dev,prod',
  ]);
  await waitFor(async () => ((await fetch(`${first.admin}/readyz`)).ok ? true : undefined));
  assert.equal(await first.proc.stop(), 0);
  const stored = kube.objects.get('secrets/llm-config/relay-state') as { data?: Record<string, string> } | undefined;
  assert.ok(stored, 'the Secret was created');
  assert.deepEqual(
    Object.keys(stored.data ?? {})
      .map((k) => k.replace(/^.*?\.(\w+)\.json\.gz$/, '$1'))
      .sort(),
    ['development', 'production'],
  );

  await central.proc.stop();
  const second = await startRelayCli(t, central.url, [
    ...common,
    '--state-dir',
    join(dir, 'b'),
    '--namespaces',
    'ml-service',
    '--environment',
    'prod',
  ]);
  assert.ok(second.proc.logs.some((l) => l.msg === 'restored last-known-good state' && String(l.from).startsWith('Secret key')));
  assert.equal((await fetch(`${second.admin}/readyz`)).status, 200);
  const read = await fetch(`${second.url}/api/v1/configs/ml-service/model?env=production`);
  assert.equal(read.status, 200);
  assert.equal(read.headers.get('x-config-stale'), 'true');
  assert.equal(((await read.json()) as { value: string }).value, 'gpt-4o');
});
