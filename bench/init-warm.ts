// init warm: process start to exit for `llm-config init` fetching and rendering
// 1,000 keys from a local reference central API, with the image's Node flags and a compile
// cache warmed as the image's is. Bar (SPEC §10): < 1 s.
//   node bench/init-warm.ts [keys] [runs]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, IMAGE_ENV, IMAGE_NODE_FLAGS, warmCompileCache } from '../test/helpers/cli-process.ts';
import { printFigures, summarise, writeSeed, type Figure } from './bench-lib.ts';

export async function benchInitWarm(keys = 1000, runs = 7): Promise<Figure[]> {
  warmCompileCache(IMAGE_NODE_FLAGS);
  const dir = await mkdtemp(join(tmpdir(), 'llmc-bench-init-'));
  await writeSeed(join(dir, 'seed.json'), 'bench', keys);
  const central = new CliProcess(['dev-server', '--addr', '127.0.0.1:0', '--seed', join(dir, 'seed.json')]);
  try {
    const centralUrl = await central.listeningUrl();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const init = new CliProcess(
        [
          'init',
          '--central-url',
          centralUrl,
          '--namespaces',
          'bench',
          '--output-dir',
          join(dir, `files-${i}`),
          '--cache-dir',
          join(dir, `cache-${i}`),
          '--log-level',
          'warn',
        ],
        IMAGE_ENV,
        IMAGE_NODE_FLAGS,
      );
      const code = await init.exitCode(30_000);
      if (code !== 0) throw new Error(`init exited ${code}: ${init.stderrText.join('\n')}`);
      times.push(performance.now() - started);
    }
    const s = summarise(times);
    return [
      { name: `init, ${keys} keys, start to exit (median of ${runs})`, value: s.p50, unit: 'ms', bar: '< 1000 ms', ratio: s.p50 / 1000 },
      { name: `init, ${keys} keys, start to exit (max of ${runs})`, value: s.max, unit: 'ms', bar: '< 1000 ms', ratio: s.max / 1000 },
    ];
  } finally {
    await central.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const [keys, runs] = process.argv.slice(2).map(Number);
  printFigures('init warm', `node bench/init-warm.ts ${keys ?? 1000} ${runs ?? 7}`, await benchInitWarm(keys || 1000, runs || 7));
}
