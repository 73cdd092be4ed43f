// The relay's Prometheus series, beside the shared process and HTTP metrics. Labels
// are bounded: results and states, never namespaces, pods or tokens.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;

export type FleetFigures = { readonly pods: () => number; readonly convergenceSeconds: () => number };

export function createRelayMetrics(registry: Registry) {
  const registers = [registry];
  // Computed at scrape time from the fleet view, which is set once the relay is assembled.
  let fleet: FleetFigures = { pods: () => 0, convergenceSeconds: () => -1 };
  return {
    observeFleet(figures: FleetFigures): void {
      fleet = figures;
    },
    upstreamRequests: new Counter({
      name: 'llm_config_relay_upstream_requests_total',
      help: 'List requests sent upstream, by result (ok, error, rate_limited).',
      labelNames: ['result'] as const,
      registers,
    }),
    namespaces: new Gauge({ name: 'llm_config_relay_namespaces', help: '(namespace, environment) pairs being synced.', registers }),
    effectiveInterval: new Gauge({
      name: 'llm_config_relay_effective_interval_seconds',
      help: 'Time between two syncs of one namespace: --poll-interval, or longer when --upstream-rps cannot fit the work.',
      registers,
    }),
    budgetExceeded: new Gauge({
      name: 'llm_config_relay_budget_exceeded',
      help: '1 while namespaces × environments ÷ interval exceeds --upstream-rps (the interval is stretched), else 0.',
      registers,
    }),
    streams: new Gauge({ name: 'llm_config_relay_watch_streams', help: 'Open watch streams from agents.', registers }),
    tokenReviews: new Counter({
      name: 'llm_config_relay_token_reviews_total',
      help: 'Token checks by result: authenticated, rejected, error, timeout (reviews sent); prefiltered, throttled (none sent).',
      labelNames: ['result'] as const,
      registers,
    }),
    revoked: new Counter({
      name: 'llm_config_relay_streams_revoked_total',
      help: 'Open watch streams ended because access was revoked (denied: annotation or namespace change) or the token expired.',
      labelNames: ['reason'] as const,
      registers,
    }),
    denied: new Counter({
      name: 'llm_config_relay_denied_total',
      help: 'Agent requests refused, by status (401, 403).',
      labelNames: ['code'] as const,
      registers,
    }),
    fanout: new Histogram({
      name: 'llm_config_relay_fanout_seconds',
      help: 'From an upstream change seen by the relay to its event written to every watching stream.',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    fleetConvergence: new Gauge({
      name: 'llm_config_relay_fleet_convergence_seconds',
      help: 'For the newest revision: seconds from the relay seeing it until every pod reading that namespace had it (-1 while some have not).',
      registers,
      collect() {
        this.set(fleet.convergenceSeconds());
      },
    }),
    connectedPods: new Gauge({
      name: 'llm_config_relay_connected_pods',
      help: 'Pods seen within the idle timeout.',
      registers,
      collect() {
        this.set(fleet.pods());
      },
    }),
  };
}
