// One client cannot make the relay sync made-up names until it is full: a per-identity
// cap on namespaces it alone caused to be synced (here the client address, --auth none),
// so a storm from one client never turns another client's first read into a 503.
// Real relay CLI and dev-server; the second client connects from another loopback address.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { startCentral, waitFor } from '../helpers/cli-process.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { NamespaceSlots } from '../../relay/namespace-slots.ts';
import { UpstreamBudget } from '../../relay/upstream-budget.ts';
import { createRelayMetrics } from '../../relay/relay-metrics.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import type { CentralClient } from '../../src/central/client.ts';
import { startRelayCli } from './relay-helpers.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');

function get(url: string, localAddress: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('relay: a storm of made-up names from one client is capped per client; another client’s first read still succeeds', async (t) => {
  const central = await startCentral(t, ['--seed', SEED]);
  const relay = await startRelayCli(t, central.url, [
    '--auth',
    'none',
    '--max-namespaces',
    '30',
    '--max-namespaces-per-client',
    '10',
    '--upstream-rps',
    '1000',
    '--poll-interval',
    '60s',
  ]);
  const storm = await Promise.all(
    Array.from({ length: 60 }, (_, i) => get(`${relay.url}/api/v1/configs/made-up-${i}?env=dev`, '127.0.0.1')),
  );
  const statuses = storm.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 200).length, 10, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s === 429).length, 50, JSON.stringify(statuses));
  const refused = storm.find((r) => r.status === 429)!;
  assert.match(JSON.parse(refused.body).message, /anonymous\/127\.0\.0\.1 already made the relay sync .*--max-namespaces-per-client/);

  // Another client: its first read of a real namespace is served.
  const other = await get(`${relay.url}/api/v1/configs/ml-service?env=dev`, '127.0.0.2');
  assert.equal(other.status, 200, other.body);
  // A namespace already synced for someone else never counts against the capped client.
  assert.equal((await get(`${relay.url}/api/v1/configs/ml-service?env=dev`, '127.0.0.1')).status, 200);
  const status = (await (await fetch(`${relay.admin}/status`)).json()) as { namespaces: number };
  assert.equal(status.namespaces, 11, 'ten made-up names and ml-service');
});

test('relay slots: a namespace only its creator reads that upstream answered empty is released sooner, and frees its cap', async (t) => {
  const { logger } = testLogger();
  const listed: string[] = [];
  const client = {
    async listNamespace(namespace: string) {
      listed.push(namespace);
      const entries = namespace === 'real' ? [{ id: 'i1', namespace, key: 'k', value: 'v', environment: 'development', version: 1 }] : [];
      return { kind: 'entries', entries, refused: [], etag: undefined };
    },
  } as unknown as CentralClient;
  const slots = new NamespaceSlots({
    client,
    budget: new UpstreamBudget(1000),
    pollIntervalMs: 60_000,
    idleTimeoutMs: 600_000,
    emptyIdleMs: 1000,
    maxSlots: 10,
    maxPerClient: 2,
    firstLoadWaitMs: 5000,
    resyncIntervalMs: 600_000,
    backoff: { baseMs: 1000, capMs: 60_000 },
    logger,
    metrics: createRelayMetrics(createRegistry({ processMetrics: false })),
  });
  slots.start();
  t.after(() => slots.stop());
  const made = slots.demandBy('development', 'made-up', 'sa-a');
  const real = slots.demandBy('development', 'real', 'sa-a');
  assert.ok(typeof made === 'object' && typeof real === 'object');
  assert.equal(slots.demandBy('development', 'third', 'sa-a'), 'client-cap');
  const shared = slots.demandBy('development', 'shared-empty', 'sa-b');
  assert.ok(typeof shared === 'object');
  assert.equal(slots.demandBy('development', 'shared-empty', 'sa-c'), shared, 'read by another identity: shared');
  assert.ok((await slots.ready(made)) && (await slots.ready(real)) && (await slots.ready(shared)));
  await waitFor(() => (slots.get('development', 'made-up') === undefined ? true : undefined));
  assert.ok(slots.get('development', 'real'), 'a namespace with data keeps the full idle timeout');
  assert.ok(slots.get('development', 'shared-empty'), 'an empty namespace others read too keeps the full idle timeout');
  assert.equal(typeof slots.demandBy('development', 'third', 'sa-a'), 'object', 'the released slot no longer counts');
});
