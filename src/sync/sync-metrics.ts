// Prometheus metrics of the sync core (engine, publisher, store refusals), shared by
// init, the agent and the relay. Labels are bounded: results and modes, never keys,
// paths or values.

import { Counter, Gauge, Histogram, type Registry } from '../lean/prom-client.ts';

export type SyncMetrics = ReturnType<typeof createSyncMetrics>;

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
