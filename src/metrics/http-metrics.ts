// Metrics of a read API served over HTTP (the agent's local API, the relay's API).

import type * as Prom from 'prom-client';
import { Counter, Histogram, type Registry } from '../lean/prom-client.ts';

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
