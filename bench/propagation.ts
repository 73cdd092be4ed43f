// Propagation: central write → the agent's file shows the new value (and, once the
// local API answers, the HTTP read too). Stream mode and poll mode, each against its
// own agent. Bar (SPEC §10, stream): p99 < 100 ms.
//   node bench/propagation.ts [writes]

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentArgs, CliProcess, IMAGE_ENV, IMAGE_NODE_FLAGS, waitFor, warmCompileCache, writeValue } from '../test/helpers/cli-process.ts';
import { printFigures, summarise, writeSeed, type Figure } from './bench-lib.ts';

/** Write → the agent's HTTP read answers the new value, and → the file shows it (both timed from the write). */
async function measure(
  centralUrl: string,
  agentUrl: string,
  filePath: string,
  writes: number,
  pauseMs: number,
): Promise<{ http: number[]; file: number[] }> {
  const http: number[] = [];
  const file: number[] = [];
  for (let i = 0; i < writes; i++) {
    const marker = `v-${Date.now()}-${i}`;
    const started = performance.now();
    await writeValue(centralUrl, 'bench', 'key-00001', marker);
    let seenHttp: number | undefined;
    let seenFile: number | undefined;
    await waitFor(async () => {
      if (seenHttp === undefined && (await (await fetch(`${agentUrl}/v1/values/bench/key-00001`)).text()) === marker)
        seenHttp = performance.now() - started;
      if (seenFile === undefined && (await readFile(filePath, 'utf8').catch(() => '')).includes(marker))
        seenFile = performance.now() - started;
      return seenHttp !== undefined && seenFile !== undefined ? true : undefined;
    }, 10_000);
    http.push(seenHttp!);
    file.push(seenFile!);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return { http, file };
}

export async function benchPropagation(writes = 100): Promise<Figure[]> {
  warmCompileCache(IMAGE_NODE_FLAGS); // the agent runs as the image runs it
  const dir = await mkdtemp(join(tmpdir(), 'llmc-bench-prop-'));
  await writeSeed(join(dir, 'seed.json'), 'bench', 1000);
  const central = new CliProcess(['dev-server', '--addr', '127.0.0.1:0', '--seed', join(dir, 'seed.json')]);
  const agents: CliProcess[] = [];
  try {
    const url = await central.listeningUrl();
    const figures: Figure[] = [];
    for (const mode of ['stream', 'poll'] as const) {
      const files = join(dir, `files-${mode}`);
      const agent = new CliProcess(
        agentArgs({
          url,
          namespaces: 'bench',
          dir,
          outputDir: files,
          cacheDir: join(dir, `cache-${mode}`),
          socket: join(dir, `agent-${mode}.sock`),
          extra: ['--sync-mode', mode, '--poll-interval', '1s'],
        }),
        IMAGE_ENV,
        IMAGE_NODE_FLAGS,
      );
      agents.push(agent);
      const agentUrl = `http://${String((await agent.waitForLog((l) => l.msg === 'agent started', 10_000)).http)}`;
      await waitFor(async () => await readFile(join(files, 'bench.json'), 'utf8').catch(() => undefined), 10_000);
      const count = mode === 'stream' ? writes : Math.min(writes, 20);
      const samples = await measure(url, agentUrl, join(files, 'bench.json'), count, mode === 'stream' ? 20 : 0);
      await agent.stop();
      for (const [what, values] of [
        ['HTTP read', samples.http],
        ['file updated', samples.file],
      ] as const) {
        const s = summarise(values);
        figures.push(
          { name: `${mode}: write → ${what}, p50 (n=${s.n})`, value: s.p50, unit: 'ms' },
          mode === 'stream'
            ? { name: `${mode}: write → ${what}, p99 (n=${s.n})`, value: s.p99, unit: 'ms', bar: 'p99 < 100 ms', ratio: s.p99 / 100 }
            : { name: `${mode}: write → ${what}, p99 (n=${s.n}, 1 s interval)`, value: s.p99, unit: 'ms', bar: '≤ interval + 10 % jitter' },
        );
      }
    }
    return figures;
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await central.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const writes = Number(process.argv[2]) || 100;
  printFigures('propagation', `node bench/propagation.ts ${writes}`, await benchPropagation(writes));
}
