// `npm run soak` (not in CI): SOAK_MINUTES (default 10) of steady reads against the
// agent while the central API changes a value every second. Samples the agent's RSS;
// after a warm-up (the first fifth), growth must stay under 10 %.

import { mkdtemp, rm } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { agentArgs, CliProcess, IMAGE_ENV, IMAGE_NODE_FLAGS, warmCompileCache, writeValue } from '../test/helpers/cli-process.ts';
import { writeSeed } from './bench-lib.ts';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const READS_PER_SECOND = Number(process.env.SOAK_RPS ?? 500);
/** Node flags for the agent; default: the images' own. Set to compare runtime profiles. */
const NODE_FLAGS = process.env.SOAK_NODE_FLAGS?.split(' ').filter(Boolean) ?? IMAGE_NODE_FLAGS;
warmCompileCache(NODE_FLAGS);

const rssMiB = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const dir = await mkdtemp(join(tmpdir(), 'llmc-soak-'));
await writeSeed(join(dir, 'seed.json'), 'bench', 1000);
const central = new CliProcess(['dev-server', '--addr', '127.0.0.1:0', '--seed', join(dir, 'seed.json')]);
const url = await central.listeningUrl();
const agent = new CliProcess(agentArgs({ url, namespaces: 'bench', dir, socket: 'off' }), IMAGE_ENV, NODE_FLAGS);
const http = `http://${String((await agent.waitForLog((l) => l.msg === 'agent started')).http)}`;
const pool = new Pool(http, { connections: 4 });
const end = Date.now() + MINUTES * 60_000;
const samples: Array<{ minute: number; rss: number }> = [];
let reads = 0;
let failed = 0;
let writes = 0;
const started = Date.now();
const sampler = setInterval(async () => {
  const rss = await rssMiB(agent.child.pid!);
  samples.push({ minute: (Date.now() - started) / 60_000, rss });
  console.log(
    `${((Date.now() - started) / 60_000).toFixed(1)} min  rss ${rss.toFixed(1)} MiB  reads ${reads} (${failed} failed)  writes ${writes}`,
  );
}, 15_000);
const writer = setInterval(
  () => void writeValue(url, 'bench', `key-${String(writes++ % 1000).padStart(5, '0')}`, `soak-${writes}`).catch(() => undefined),
  1000,
);
while (Date.now() < end) {
  const tick = Date.now();
  await Promise.all(
    Array.from({ length: READS_PER_SECOND / 10 }, async (_, i) => {
      const response = await pool
        .request({ path: `/v1/values/bench/key-${String((reads + i) % 1000).padStart(5, '0')}`, method: 'GET' })
        .catch(() => undefined);
      await response?.body.dump();
      reads++;
      if (response?.statusCode !== 200) failed++;
    }),
  );
  await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
}
clearInterval(sampler);
clearInterval(writer);
await pool.close();
await agent.stop();
await central.stop();
await rm(dir, { recursive: true, force: true });
const warm = samples.filter((s) => s.minute >= MINUTES / 5);
const first = warm[0]?.rss ?? Number.NaN;
const last = warm.at(-1)?.rss ?? Number.NaN;
const growth = (last - first) / first;
console.log(`\nagent node flags: ${NODE_FLAGS.join(' ')}`);
console.log(`soak ${MINUTES} min at ${READS_PER_SECOND} reads/s, a write every second: ${reads} reads, ${failed} failed, ${writes} writes`);
console.log(
  `RSS after warm-up ${first.toFixed(1)} MiB → end ${last.toFixed(1)} MiB: growth ${(growth * 100).toFixed(1)} % (bar < 10 %) ${growth < 0.1 ? 'OK' : 'OVER'}`,
);
