// Only the parts of undici and prom-client that the programs use (issue 14). Neither
// package has an `exports` map, and each index loads everything: undici's loads fetch,
// WebSocket, the cache stores, the mocks and every dispatcher (+10.5 MiB RSS on a bare
// Node 24 against pool + request API alone); prom-client's loads the push gateway
// (http, https), cluster aggregation, summaries (tdigest) and the default process
// metrics, whose CPU counter requires @opentelemetry/api for exemplars (+15 MiB against
// what is loaded here). Figures: docs/sizing.md. The types are the packages' own
// (`import type` is erased); test/unit/lean-modules.test.ts checks these deep paths
// still are what the package indexes export, so an upgrade that moves them fails there.

import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher;
// What undici's index does: request(), stream()… are a mixin on Dispatcher.prototype.
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export type Pool = Undici.Pool;
const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;

let agent: Undici.Agent | undefined;

/**
 * undici's top-level `request(url, options)`, on an Agent of this module's own (the
 * package's global dispatcher lives in the index this module avoids).
 */
export function request(
  url: URL,
  options: Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'>,
): Promise<Undici.Dispatcher.ResponseData> {
  agent ??= new Agent();
  return agent.request({ ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}

const prom = 'prom-client/lib/';
export const Registry = require(`${prom}registry.js`) as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = require(`${prom}counter.js`) as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = require(`${prom}gauge.js`) as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = require(`${prom}histogram.js`) as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;

type Collector = (registry: Prom.Registry, config: { prefix: string }) => void;

/**
 * The process metrics worth having for a sidecar, under prom-client's own names:
 * resident memory (and virtual, heap) from /proc, V8 heap size and use, event loop lag,
 * open and max fds, start time, CPU seconds. Left out: handles, requests, resources,
 * heap spaces, GC histograms, version (cardinality and module cost for little use).
 */
export function collectProcessMetrics(registry: Prom.Registry, prefix: string): void {
  for (const name of [
    'osMemoryHeap',
    'heapSizeAndUsed',
    'eventLoopLag',
    'processOpenFileDescriptors',
    'processMaxFileDescriptors',
    'processStartTime',
  ])
    (require(`${prom}metrics/${name}.js`) as Collector)(registry, { prefix });
  let last = process.cpuUsage();
  new Counter({
    name: `${prefix}process_cpu_seconds_total`,
    help: 'Total user and system CPU time spent in seconds.',
    registers: [registry],
    collect() {
      const now = process.cpuUsage();
      this.inc((now.user - last.user + now.system - last.system) / 1e6);
      last = now;
    },
  });
}
