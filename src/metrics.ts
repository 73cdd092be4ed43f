// Prometheus metrics for sync. One registry per process, passed down; never the
// global default registry, so tests can build as many as they like. Labels are
// bounded: results and modes, never keys, paths or values.

import type * as Prom from 'prom-client';
import { Counter, Gauge, Histogram, Registry, collectProcessMetrics } from './lean-prom-client.ts';

export type SyncMetrics = ReturnType<typeof createSyncMetrics>;

export function createRegistry(options: { processMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.processMetrics) collectProcessMetrics(registry, 'llm_config_');
  return registry;
}

export function createSyncMetrics(registry: Registry) {
  const registers = [registry];
  return {
    syncTotal: new Counter({
      name: 'llm_config_sync_total',
      help: 'Sync attempts against the central API, by result (ok, not_modified, error, rate_limited).',
      labelNames: ['result'] as const,
      registers,
    }),
    syncDuration: new Histogram({
      name: 'llm_config_sync_duration_seconds',
      help: 'Duration of one sync (a poll cycle or a full resync).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    lastSyncTimestamp: new Gauge({
      name: 'llm_config_last_sync_timestamp_seconds',
      help: 'Unix time of the last successful sync (poll, resync or stream event).',
      registers,
    }),
    streamConnected: new Gauge({
      name: 'llm_config_stream_connected',
      help: '1 while the watch stream is connected, else 0.',
      registers,
    }),
    entries: new Gauge({
      name: 'llm_config_entries',
      help: 'Configuration entries held in memory.',
      registers,
    }),
    revision: new Gauge({
      name: 'llm_config_revision',
      help: 'Local revision: bumped once per applied change set.',
      registers,
    }),
    renderFailing: new Gauge({
      name: 'llm_config_file_render_failing',
      help: '1 while a rendered file fails to render (it keeps its previous content), else 0. One series per configured file.',
      labelNames: ['file'] as const,
      registers,
    }),
    effectiveInterval: new Gauge({
      name: 'llm_config_poll_interval_effective_seconds',
      help: 'Poll interval in force: --poll-interval, stretched after 429 answers (multiplicative increase, slow decrease).',
      registers,
    }),
    refusedEntries: new Counter({
      name: 'llm_config_refused_entries_total',
      help: 'Entries of central answers not taken, by kind (foreign-answer: a whole answer not for the question; foreign-namespace, foreign-environment, duplicate, too-deep, malformed).',
      labelNames: ['kind'] as const,
      registers,
    }),
    outputWrites: new Counter({
      name: 'llm_config_output_writes_total',
      help: 'Atomic writes of the output directory, by result (ok, unchanged, error).',
      labelNames: ['result'] as const,
      registers,
    }),
  };
}

export type HttpMetrics = ReturnType<typeof createHttpMetrics>;

/** Local API metrics. `route` is a route template (e.g. /api/v1/configs/:ns/:key), never a raw path. */
export function createHttpMetrics(registry: Registry) {
  const registers = [registry];
  const requests = new Counter({
    name: 'llm_config_http_requests_total',
    help: 'Local API requests by route template and status code.',
    labelNames: ['route', 'code'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'llm_config_http_request_duration_seconds',
    help: 'Local API request duration by route template (time to the end of the answer).',
    labelNames: ['route'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
    registers,
  });
  // Label children are cached: looking labels up by object on every request is the slow part.
  const counters = new Map<string, Prom.Counter.Internal>();
  const timers = new Map<string, Prom.Histogram.Internal<string>>();
  return {
    observe(route: string, code: number, seconds: number): void {
      const key = `${route} ${code}`;
      let counter = counters.get(key);
      if (!counter) counters.set(key, (counter = requests.labels(route, String(code))));
      counter.inc();
      let timer = timers.get(route);
      if (!timer) timers.set(route, (timer = duration.labels(route)));
      timer.observe(seconds);
    },
  };
}

/** Webhook metrics: admissions by result (patched, allowed, denied, bad_request) and their latency. */
export function createAdmissionMetrics(registry: Registry) {
  const total = new Counter({
    name: 'llm_config_admissions_total',
    help: 'AdmissionReviews answered, by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'llm_config_admission_duration_seconds',
    help: 'Time to answer one AdmissionReview (body read to response written).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  });
  return (result: string, seconds: number): void => {
    total.inc({ result });
    duration.observe(seconds);
  };
}
