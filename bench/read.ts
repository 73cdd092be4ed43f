// Cached reads from the agent's local API, over loopback TCP and the Unix socket,
// against a bare node:http server answering the same bytes, in the same run, with the
// same load generator (its own process). Memory is bench/footprint.ts's.
// Bars (SPEC §10): closed-loop p99 < 1 ms; at 5,000 req/s p99 within 1 ms of bare;
// throughput ≥ 80 % of bare; socket ≥ TCP.
//   node bench/read.ts [seconds per run] [rounds]

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentArgs, CliProcess, IMAGE_ENV, IMAGE_NODE_FLAGS, warmCompileCache } from '../test/helpers/cli-process.ts';
import { printFigures, writeSeed, type Figure } from './bench-lib.ts';

const run = promisify(execFile);
const GENERATOR = join(import.meta.dirname, 'load-generator.ts');
const BARE = join(import.meta.dirname, 'bare-server.ts');
const PATH = '/api/v1/configs/bench/key-00001';

type Target = { host: string; port: number } | { path: string };
type LoadResult = { requests: number; errors: number; rps: number; p50: number; p99: number };

async function load(target: Target, mode: 'closed' | 'open', extra: Record<string, number>): Promise<LoadResult> {
  const config = { target, urlPath: PATH, mode, ...extra };
  const { stdout } = await run(process.execPath, [GENERATOR, JSON.stringify(config)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as LoadResult;
}

async function startAgent(dir: string, url: string, name: string): Promise<{ agent: CliProcess; tcp: Target; socket: Target }> {
  const socket = join(dir, `${name}.sock`);
  const agent = new CliProcess(
    agentArgs({ url, namespaces: 'bench', dir, outputDir: join(dir, `files-${name}`), cacheDir: join(dir, `cache-${name}`), socket }),
    IMAGE_ENV,
    IMAGE_NODE_FLAGS,
  );
  const started = await agent.waitForLog((l) => l.msg === 'agent started', 20_000);
  await agent.waitForLog((l) => l.msg === 'files updated', 20_000); // first sync applied
  const port = Number(String(started.http).split(':').at(-1));
  return { agent, tcp: { host: '127.0.0.1', port }, socket: { path: socket } };
}

export async function benchRead(seconds = 4, rounds = 3): Promise<Figure[]> {
  warmCompileCache(IMAGE_NODE_FLAGS);
  const dir = await mkdtemp(join(tmpdir(), 'llmc-bench-read-'));
  await writeSeed(join(dir, 'seed.json'), 'bench', 1000);
  const central = new CliProcess(['dev-server', '--addr', '127.0.0.1:0', '--seed', join(dir, 'seed.json')]);
  const cleanups: Array<() => Promise<unknown>> = [() => central.stop()];
  try {
    const url = await central.listeningUrl();
    const { agent, tcp, socket } = await startAgent(dir, url, 'k1');
    cleanups.push(() => agent.stop());
    const sample = await fetch(`http://127.0.0.1:${(tcp as { port: number }).port}${PATH}`);
    const headers = Object.fromEntries(['content-type', 'etag', 'x-config-revision'].map((h) => [h, sample.headers.get(h)!]));
    const bareProcess = spawn(process.execPath, [BARE, JSON.stringify({ body: await sample.text(), headers })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(async () => {
      bareProcess.kill('SIGTERM');
      await once(bareProcess, 'exit');
    });
    const [portLine] = (await once(bareProcess.stdout!, 'data')) as [Buffer];
    const bare: Target = { host: '127.0.0.1', port: Number(portLine.toString().trim()) };

    const targets = { bare, 'agent tcp': tcp, 'agent socket': socket } as const;
    const closedRuns: Record<string, LoadResult> = {};
    const warming: Record<string, LoadResult> = {};
    for (const [name, target] of Object.entries(targets)) {
      await load(target, 'closed', { connections: 1, requests: 3000 }); // warm-up (JIT, caches)
      closedRuns[name] = await load(target, 'closed', { connections: 1, requests: 5000 });
      // One unjudged round at full load: the images' flags (no Maglev, TurboFan after 10 ×
      // its default budget) leave a fresh agent's read path unoptimised for tens of
      // thousands of requests; the judged rounds measure it once optimised. Reported.
      // The socket is the same agent process, already warmed over TCP: no round of its own.
      if (name !== 'agent socket') warming[name] = await load(target, 'closed', { connections: 8, durationMs: seconds * 1000 });
    }
    // On a small machine one run of a target can land on a noisy moment: interleave the
    // targets round by round and keep each one's median round.
    const maxRounds: Record<string, LoadResult[]> = {};
    const openRounds: Record<string, LoadResult[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, target] of Object.entries(targets)) {
        (maxRounds[name] ??= []).push(await load(target, 'closed', { connections: 8, durationMs: seconds * 1000 }));
        (openRounds[name] ??= []).push(await load(target, 'open', { connections: 16, rate: 5000, durationMs: seconds * 1000 }));
      }
    }
    const median = (list: LoadResult[], by: (r: LoadResult) => number) =>
      [...list].sort((a, b) => by(a) - by(b))[Math.floor(list.length / 2)]!;
    const results = Object.fromEntries(
      Object.keys(targets).map((name) => [
        name,
        {
          closed: closedRuns[name]!,
          max: median(maxRounds[name]!, (r) => r.rps),
          open: median(openRounds[name]!, (r) => r.p99),
        },
      ]),
    );

    const r = results as Record<'bare' | 'agent tcp' | 'agent socket', { closed: LoadResult; max: LoadResult; open: LoadResult }>;
    const figures: Figure[] = [];
    for (const name of ['bare', 'agent tcp', 'agent socket'] as const) {
      figures.push(
        ...(warming[name] === undefined
          ? []
          : [
              {
                name: `${name}: throughput while warming (first ${seconds}s at 8 conns, not judged)`,
                value: warming[name].rps,
                unit: 'req/s',
              },
            ]),
        { name: `${name}: closed loop 1 conn, p50 (n=5000)`, value: r[name].closed.p50, unit: 'ms' },
        {
          name: `${name}: closed loop 1 conn, p99 (n=5000)`,
          value: r[name].closed.p99,
          unit: 'ms',
          ...(name !== 'bare' && { bar: '< 1 ms', ratio: r[name].closed.p99 / 1 }),
        },
        {
          name: `${name}: throughput, 8 conns, ${seconds}s (median of ${rounds})`,
          value: r[name].max.rps,
          unit: 'req/s',
          ...(name !== 'bare' && { bar: '≥ 80 % of bare', ratio: (0.8 * r.bare.max.rps) / r[name].max.rps }),
        },
        { name: `${name}: 5,000 req/s open loop, p50`, value: r[name].open.p50, unit: 'ms' },
        {
          name: `${name}: 5,000 req/s open loop, p99 (median of ${rounds})`,
          value: r[name].open.p99,
          unit: 'ms',
          ...(name !== 'bare' && {
            bar: `≤ bare p99 + 1 ms (${(r.bare.open.p99 + 1).toFixed(2)})`,
            ratio: r[name].open.p99 / (r.bare.open.p99 + 1),
          }),
        },
      );
    }
    figures.push(
      { name: 'agent throughput / bare throughput (tcp)', value: r['agent tcp'].max.rps / r.bare.max.rps, unit: '', bar: '≥ 0.80' },
      { name: 'socket throughput / tcp throughput', value: r['agent socket'].max.rps / r['agent tcp'].max.rps, unit: '', bar: '≥ 1.00' },
      {
        name: 'errors across all runs',
        value: Object.values(r).reduce((n, x) => n + x.closed.errors + x.max.errors + x.open.errors, 0),
        unit: '',
      },
    );
    return figures;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const seconds = Number(process.argv[2]) || 4;
  const rounds = Number(process.argv[3]) || 3;
  printFigures('local read API', `node bench/read.ts ${seconds} ${rounds}`, await benchRead(seconds, rounds));
}
