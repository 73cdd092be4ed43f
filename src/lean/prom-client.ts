// Only the parts of prom-client the programs use (issue 14): the registry, counters,
// gauges, histograms and the process metrics worth having. The package has no `exports`
// map and its index loads the push gateway (http, https), cluster aggregation, summaries
// (tdigest) and every default process metric, whose CPU counter requires
// @opentelemetry/api for exemplars (+15 MiB RSS on a bare Node 24 against what is loaded
// here; docs/sizing.md). The types are the package's own (`import type` is erased);
// test/unit/lean-modules.test.ts checks the deep paths against the index.

import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry.js') as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = require('prom-client/lib/counter.js') as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = require('prom-client/lib/gauge.js') as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = require('prom-client/lib/histogram.js') as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;

type Collector = (registry: Prom.Registry, config: { prefix: string }) => void;

/**
 * The process metrics worth having for a sidecar, under prom-client's own names:
 * resident memory (and virtual, heap) from /proc, V8 heap size and use, event loop lag,
 * open and max fds, start time, CPU seconds. Left out: handles, requests, resources,
 * heap spaces, GC histograms, version (cardinality and module cost for little use).
 */
export function collectProcessMetrics(registry: Prom.Registry, prefix: string): void {
  // Literal specifiers, so the image build (bin/image-prune.ts) can follow them.
  const collectors: Collector[] = [
    require('prom-client/lib/metrics/osMemoryHeap.js'),
    require('prom-client/lib/metrics/heapSizeAndUsed.js'),
    require('prom-client/lib/metrics/eventLoopLag.js'),
    require('prom-client/lib/metrics/processOpenFileDescriptors.js'),
    require('prom-client/lib/metrics/processMaxFileDescriptors.js'),
    require('prom-client/lib/metrics/processStartTime.js'),
  ];
  for (const collect of collectors) collect(registry, { prefix });
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
