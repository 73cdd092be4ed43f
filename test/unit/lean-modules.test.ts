// src/lean/undici.ts and src/lean/prom-client.ts reach into undici and prom-client by
// file path (neither has an `exports` map). These tests pin that the deep paths are the
// very classes the package indexes export, that the request API mixin is in place with
// the options the programs use (timeouts, abort signal), and which process series the
// registry exports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from '../../src/lean/prom-client.ts';
import { Pool } from '../../src/lean/undici.ts';
import { createRegistry } from '../../src/metrics/registry.ts';

const require = createRequire(import.meta.url);

async function listen(t: { after(fn: () => unknown): void }, server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('the deep paths are the classes the package indexes export', () => {
  const undici = require('undici');
  const prom = require('prom-client');
  assert.equal(Pool, undici.Pool);
  assert.equal(Registry, prom.Registry);
  assert.equal(Counter, prom.Counter);
  assert.equal(Gauge, prom.Gauge);
  assert.equal(Histogram, prom.Histogram);
});

test('Pool.request answers, with the options the relay uses', async (t) => {
  const origin = await listen(
    t,
    createServer((q, r) => {
      if (q.url === '/slow') return; // never answers: for the timeouts
      r.setHeader('content-type', 'application/json');
      r.end(JSON.stringify({ path: q.url, method: q.method }));
    }),
  );
  const pool = new Pool(origin, { connections: 2 });
  t.after(() => pool.close());
  const ok = await pool.request({ path: '/a?b=1', method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(await ok.body.json(), { path: '/a?b=1', method: 'GET' });

  const posted = await pool.request({ path: '/reload?x=1', method: 'POST', body: '{}', headersTimeout: 5000 });
  assert.deepEqual(await posted.body.json(), { path: '/reload?x=1', method: 'POST' });

  await assert.rejects(pool.request({ path: '/slow', method: 'GET', headersTimeout: 50 }), { code: 'UND_ERR_HEADERS_TIMEOUT' });
  const abort = new AbortController();
  const pending = pool.request({ path: '/slow', method: 'POST', signal: abort.signal });
  abort.abort(new Error('stop'));
  await assert.rejects(pending, /stop/);
});

test('process metrics: the sidecar set (that the agent does not load @opentelemetry/api: test/e2e/lazy-modules.test.ts)', async () => {
  const registry = createRegistry({ processMetrics: true });
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
  assert.deepEqual(names, [
    'llm_config_nodejs_eventloop_lag_max_seconds',
    'llm_config_nodejs_eventloop_lag_mean_seconds',
    'llm_config_nodejs_eventloop_lag_min_seconds',
    'llm_config_nodejs_eventloop_lag_p50_seconds',
    'llm_config_nodejs_eventloop_lag_p90_seconds',
    'llm_config_nodejs_eventloop_lag_p99_seconds',
    'llm_config_nodejs_eventloop_lag_seconds',
    'llm_config_nodejs_eventloop_lag_stddev_seconds',
    'llm_config_nodejs_external_memory_bytes',
    'llm_config_nodejs_heap_size_total_bytes',
    'llm_config_nodejs_heap_size_used_bytes',
    'llm_config_process_cpu_seconds_total',
    'llm_config_process_heap_bytes',
    'llm_config_process_max_fds',
    'llm_config_process_open_fds',
    'llm_config_process_resident_memory_bytes',
    'llm_config_process_start_time_seconds',
    'llm_config_process_virtual_memory_bytes',
  ]);
  const rss = (await registry.getSingleMetric('llm_config_process_resident_memory_bytes')!.get()).values[0]!.value;
  assert.ok(rss > 1024 * 1024, `resident memory read from /proc: ${rss}`);
});
