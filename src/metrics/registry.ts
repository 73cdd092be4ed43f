// One Prometheus registry per process, passed down; never prom-client's global default
// registry, so tests can build as many as they like.

import { collectProcessMetrics, Registry } from '../lean/prom-client.ts';

export function createRegistry(options: { processMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.processMetrics) collectProcessMetrics(registry, 'llm_config_');
  return registry;
}
