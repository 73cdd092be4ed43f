// SPEC §10 "central outage" as figures: reads and file checks through a 60 s outage.
//   node bench/outage.ts [seconds]

import { join } from 'node:path';
import { runOutage } from '../test/helpers/outage-run.ts';
import { printFigures, type Figure } from './bench-lib.ts';

const SEED = join(import.meta.dirname, '..', 'test', 'fixtures', 'seed.yaml');

export async function benchOutage(seconds = 60): Promise<Figure[]> {
  const r = await runOutage(seconds, SEED);
  return [
    { name: `reads during a ${seconds}s outage`, value: r.reads, unit: '' },
    { name: 'failed reads', value: r.failedReads, unit: '', bar: '0' },
    { name: 'file checks during the outage', value: r.fileChecks, unit: '' },
    { name: 'changed or corrupt files', value: r.changedOrCorruptFiles, unit: '', bar: '0' },
    { name: 'reconnect attempts (TCP connections seen)', value: r.reconnectGapsMs.length + 1, unit: '' },
    { name: 'reconnect gaps (full jitter)', value: r.reconnectGapsMs.length, unit: `gaps, ms: ${r.reconnectGapsMs.join(', ')}` },
    { name: 'write → served, after the central API is back', value: r.resyncMs, unit: 'ms' },
  ];
}

if (import.meta.main) {
  const seconds = Number(process.argv[2]) || 60;
  printFigures('central outage', `node bench/outage.ts ${seconds}`, await benchOutage(seconds));
}
