// SPEC §10 "relay fan-out" as figures: watch streams and 2 real agents behind one relay
// in front of an upstream-strict server, and concurrent first reads of a cold namespace.
//   node bench/relay.ts [streams] [cold readers]

import { percentile, runColdReads, runFanout } from '../test/relay/fanout-run.ts';
import { printFigures, type Figure } from './bench-lib.ts';

export async function benchRelay(streams = 2000, coldReaders = 1000): Promise<Figure[]> {
  const r = await runFanout({ streams, namespaces: 10, intervalSec: 2, writes: 3 });
  const cold = await runColdReads(coldReaders);
  const p99 = percentile(r.delaysMs, 99);
  return [
    { name: 'watch streams on one relay (+ 2 real agents)', value: r.streams, unit: '' },
    { name: 'streams opened (snapshot received), ms', value: r.openMs, unit: 'ms' },
    {
      name: `upstream list requests in ${Math.round(r.windowMs / 1000)} s (10 namespaces, 2 s)`,
      value: r.upstreamLists,
      unit: '',
      bar: `≤ ${r.upstreamListsAllowed}`,
      ratio: r.upstreamLists / r.upstreamListsAllowed,
    },
    { name: 'upstream 429 answers', value: r.rateLimited, unit: '', bar: '0' },
    { name: 'central write → stream, p50', value: percentile(r.delaysMs, 50), unit: 'ms' },
    { name: 'central write → stream, p99', value: p99, unit: 'ms', bar: `≤ ${r.intervalMs + 1000} ms`, ratio: p99 / (r.intervalMs + 1000) },
    { name: 'stream events missed', value: r.missed, unit: '', bar: '0' },
    { name: 'real agents with the last write', value: r.agentsUpdated, unit: '/ 2' },
    { name: "relay RSS after the run (the chart's service flags)", value: r.relayRssMiB, unit: 'MiB' },
    {
      name: `${coldReaders} concurrent cold reads: upstream requests`,
      value: cold.upstreamRequests,
      unit: '',
      bar: '1',
      ratio: cold.upstreamRequests,
    },
    { name: `${coldReaders} concurrent cold reads: answered 200`, value: cold.ok, unit: '' },
    { name: `${coldReaders} concurrent cold reads: all answered, ms`, value: cold.ms, unit: 'ms' },
  ];
}

if (import.meta.main) {
  const streams = Number(process.argv[2]) || 2000;
  const coldReaders = Number(process.argv[3]) || 1000;
  printFigures('relay fan-out', `node bench/relay.ts ${streams} ${coldReaders}`, await benchRelay(streams, coldReaders));
}
