// Footprint: what each pod pays for the sidecar (issue 14, SPEC §10 "agent memory").
// RSS and its anonymous part (/proc/<pid>/status) of the agent with 0, 1,000 and
// 10,000 keys of ~350-byte values, idle and after a read burst (2,000 req/s for 5 s
// over every key, with full-namespace lists), beside a bare node:http server with the
// same Node flags under the same burst; warm start to ready; the webhook idle and at
// 200 req/s; the init container's peak (ru_maxrss). Several runs: medians and ranges.
//   node bench/footprint.ts [runs] [--node-flags="--max-semi-space-size=1 …"] [--keys=0,1000,10000] [--agent-only] [--env="K=V …"]

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { key, memoryMiB, NS, readBurst, settled, sleep, writeFootprintSeed } from '../test/helpers/footprint-load.ts';
import { agentArgs, CliProcess, IMAGE_ENV, IMAGE_NODE_FLAGS, SERVICE_NODE_FLAGS, warmCompileCache } from '../test/helpers/cli-process.ts';
import { heapFlagFor } from '../webhook/node-options.ts';
import { generateTlsMaterial } from '../webhook/tls-material.ts';
import { injectionOptionTable } from '../webhook/webhook-options.ts';
import { printFigures, type Figure } from './bench-lib.ts';

// Plain JavaScript (data: URL, -e) so neither loads Node's TypeScript stripper, which a
// real bare server would not carry and the CLI skips through its warm compile cache.
/** Preload: at exit, writes ru_maxrss (KiB, kept by the kernel, so a short peak is not missed). */
const PEAK = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(process.env.LLM_CONFIG_BENCH_PEAK_FILE,String(process.resourceUsage().maxRSS)))",
)}`;
// getBuiltinModule, not `import … from 'node:http'`: an ES import of node:http loads
// Node's bundled undici through its WebSocket export (+12 MiB; agent/listeners.ts).
const BARE = `const{createServer}=process.getBuiltinModule('node:http');const b=Buffer.from(process.argv[1]);
const s=createServer({keepAliveTimeout:65000},(q,r)=>{r.writeHead(200,{'content-type':'application/json','content-length':b.length});r.end(b)});
s.listen(0,'127.0.0.1',()=>process.stdout.write(s.address().port+'\\n'));process.on('SIGTERM',()=>s.close(()=>process.exit(0)));`;

type Sample = Record<string, number>;

/**
 * What an injected agent and init run with by default: the image's ENTRYPOINT flags and
 * the heap cap the webhook derives from the default memory limit (NODE_OPTIONS).
 */
export const POD_NODE_FLAGS: readonly string[] = [
  ...IMAGE_NODE_FLAGS,
  ...[heapFlagFor(injectionOptionTable.memoryLimit.defaultText!)].filter((f) => f !== undefined),
];

function footprintAgentArgs(url: string, dir: string): string[] {
  return agentArgs({ url, namespaces: NS, dir, socket: 'off' });
}

async function waitReady(admin: string): Promise<void> {
  for (;;) {
    const ok = await fetch(`http://${admin}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(10);
  }
}

/** One agent life: cold start, idle, burst, stop; then a warm start from its snapshot. */
async function agentRun(url: string, dir: string, keys: number, flags: readonly string[], env: Record<string, string>): Promise<Sample> {
  const agent = new CliProcess(footprintAgentArgs(url, dir), { ...IMAGE_ENV, ...env }, flags);
  try {
    const started = await agent.waitForLog((l) => l.msg === 'agent started', 60_000);
    await waitReady(String(started.admin));
    await sleep(1000);
    const idle = await settled(agent.child.pid!);
    const burst = await readBurst(`http://${String(started.http)}`, keys);
    const after = await settled(agent.child.pid!, 4);
    const sample: Sample = { idle: idle.rss, idleAnon: idle.anon, after: after.rss, afterAnon: after.anon, peak: after.hwm };
    sample.failed = burst.failed;
    await agent.stop();
    const t0 = performance.now();
    const warm = new CliProcess(footprintAgentArgs(url, dir), { ...IMAGE_ENV, ...env }, flags);
    try {
      const line = await warm.waitForLog((l) => l.msg === 'agent started', 60_000);
      await waitReady(String(line.admin));
      sample.warmReady = performance.now() - t0;
    } finally {
      await warm.stop();
    }
    return sample;
  } finally {
    await agent.stop();
  }
}

async function bareRun(keys: number, flags: readonly string[]): Promise<Sample> {
  const body = JSON.stringify({ namespace: NS, key: key(1), value: 'x'.repeat(350) });
  const bare = spawn(process.execPath, [...flags, '--input-type=module', '-e', BARE, body], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...IMAGE_ENV },
  });
  try {
    const [line] = (await once(bare.stdout!, 'data')) as [Buffer];
    await sleep(1000);
    const idle = await settled(bare.pid!);
    await readBurst(`http://127.0.0.1:${line.toString().trim()}`, keys);
    const after = await settled(bare.pid!, 4);
    return { idle: idle.rss, idleAnon: idle.anon, after: after.rss, afterAnon: after.anon, peak: after.hwm };
  } finally {
    bare.kill('SIGTERM');
    await once(bare, 'exit');
  }
}

async function initRun(url: string, dir: string, flags: readonly string[]): Promise<Sample> {
  const peakFile = join(dir, 'peak');
  const t0 = performance.now();
  const init = new CliProcess(
    ['init', '--central-url', url, '--namespaces', NS, '--output-dir', join(dir, 'files'), '--cache-dir', join(dir, 'cache')],
    { ...IMAGE_ENV, LLM_CONFIG_BENCH_PEAK_FILE: peakFile },
    [...flags, '--import', PEAK],
  );
  const code = await init.exitCode(60_000);
  if (code !== 0) throw new Error(`init exited ${code}: ${init.stderrText.slice(-3).join('\n')}`);
  return { time: performance.now() - t0, peak: Number(await readFile(peakFile, 'utf8')) / 1024 };
}

function pod(i: number): string {
  const object = {
    metadata: { name: `p${i}`, annotations: { 'config.llm-dev-ops.io/inject': 'true', 'config.llm-dev-ops.io/namespaces': 'ml-service' } },
    spec: { containers: [{ name: 'app', image: 'app:1' }] },
  };
  const request = { uid: `u${i}`, kind: { kind: 'Pod' }, operation: 'CREATE', namespace: 'default', object };
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
}

async function webhookRun(dir: string, flags: readonly string[], rate = 200, seconds = 5): Promise<Sample> {
  const tls = await generateTlsMaterial({ commonName: 'bench', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 1 });
  await writeFile(join(dir, 'tls.crt'), tls.certPem);
  await writeFile(join(dir, 'tls.key'), tls.keyPem);
  const webhook = new CliProcess(
    [
      'webhook',
      ...['--addr', '127.0.0.1:0', '--tls-cert-file', join(dir, 'tls.crt'), '--tls-key-file', join(dir, 'tls.key')],
      ...['--no-namespace-defaults', '--central-url', 'http://central:8080'],
    ],
    IMAGE_ENV,
    flags,
  );
  try {
    const url = String((await webhook.waitForLog((l) => l.msg === 'listening', 60_000)).url);
    await sleep(1000);
    const idle = await settled(webhook.child.pid!);
    const pool = new Pool(url, { connections: 8, connect: { ca: tls.caPem } });
    let failed = 0;
    const started = performance.now();
    const inflight: Promise<void>[] = [];
    for (let sent = 0; sent < rate * seconds; ) {
      const due = Math.min(rate * seconds, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        const body = pod(sent);
        inflight.push(
          pool.request({ path: '/mutate', method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
            async (r) => {
              await r.body.dump();
              if (r.statusCode !== 200) failed++;
            },
            () => void failed++,
          ),
        );
      }
      await sleep(1);
    }
    await Promise.all(inflight);
    const after = await memoryMiB(webhook.child.pid!);
    await pool.close();
    return { idle: idle.rss, idleAnon: idle.anon, after: after.rss, peak: after.hwm, failed };
  } finally {
    await webhook.stop();
  }
}

/** Median and range of one field across runs. */
function stat(samples: readonly Sample[], field: string): { median: number; spread: string } {
  const values = samples.map((s) => s[field]!).sort((a, b) => a - b);
  const r = (n: number) => (n >= 100 ? Math.round(n) : Math.round(n * 10) / 10);
  return { median: values[Math.floor(values.length / 2)]!, spread: `${r(values[0]!)}–${r(values.at(-1)!)}` };
}

function figure(samples: readonly Sample[], field: string, name: string, unit: string, barMiB?: number): Figure {
  const { median, spread } = stat(samples, field);
  const label = `${name} (median of ${samples.length}; ${spread})`;
  return barMiB === undefined
    ? { name: label, value: median, unit }
    : { name: label, value: median, unit, bar: `< ${barMiB} MiB`, ratio: median / barMiB };
}

export type FootprintOptions = {
  readonly runs?: number;
  readonly flags?: readonly string[];
  readonly keys?: readonly number[];
  /** Measure the webhook and init too (default), or the agent only (for comparing flags). */
  readonly agentOnly?: boolean;
  /** Extra environment for the agent (e.g. MALLOC_ARENA_MAX=2), for comparing runtime settings. */
  readonly env?: Record<string, string>;
};

export async function benchFootprint(options: FootprintOptions = {}): Promise<Figure[]> {
  const { runs = 3, flags = POD_NODE_FLAGS, keys: keyCounts = [0, 1000, 10_000], agentOnly = false, env = {} } = options;
  const dir = await mkdtemp(join(tmpdir(), 'llmc-bench-footprint-'));
  const figures: Figure[] = [];
  try {
    // As the images do at build time: warm the compile cache with every module of every
    // command, once per set of V8 flags (V8 keys the cache by them), so no run pays for
    // type stripping.
    const webhookFlags = options.flags === undefined ? SERVICE_NODE_FLAGS : flags;
    for (const set of new Set([flags, webhookFlags])) warmCompileCache(set);
    for (const keys of keyCounts) {
      await writeFootprintSeed(join(dir, `seed-${keys}.json`), keys);
      const central = new CliProcess(['dev-server', '--addr', '127.0.0.1:0', '--seed', join(dir, `seed-${keys}.json`)]);
      try {
        const url = String((await central.waitForLog((l) => l.msg === 'listening', 60_000)).url);
        const agent: Sample[] = [];
        const bare: Sample[] = [];
        const init: Sample[] = [];
        for (let run = 0; run < runs; run++) {
          agent.push(await agentRun(url, join(dir, `agent-${keys}-${run}`), keys, flags, env));
          if (agentOnly) continue;
          bare.push(await bareRun(keys, flags));
          if (keys > 0) init.push(await initRun(url, join(dir, `init-${keys}-${run}`), flags));
        }
        const k = keys.toLocaleString('en');
        console.error(`footprint: ${k} keys measured`); // progress: a full run takes minutes
        const idleBar = keys === 1000 ? 64 : keys === 10_000 ? 128 : undefined;
        figures.push(
          figure(agent, 'idle', `agent ${k} keys: idle RSS`, 'MiB', idleBar),
          figure(agent, 'idleAnon', `agent ${k} keys: idle, anonymous`, 'MiB'),
          figure(agent, 'after', `agent ${k} keys: after read burst RSS`, 'MiB', keys === 1000 ? 96 : keys === 10_000 ? 128 : undefined),
          figure(agent, 'afterAnon', `agent ${k} keys: after burst, anonymous`, 'MiB'),
          figure(agent, 'peak', `agent ${k} keys: peak RSS (VmHWM)`, 'MiB'),
          figure(agent, 'failed', `agent ${k} keys: failed reads in burst`, ''),
          figure(agent, 'warmReady', `agent ${k} keys: warm start to ready`, 'ms'),
        );
        if (agentOnly) continue;
        figures.push(
          figure(bare, 'idle', `bare node:http: idle RSS`, 'MiB'),
          figure(bare, 'idleAnon', `bare node:http: idle, anonymous`, 'MiB'),
          figure(bare, 'after', `bare node:http: after the same burst`, 'MiB'),
        );
        if (keys > 0)
          figures.push(
            figure(init, 'peak', `init ${k} keys: peak RSS`, 'MiB'),
            figure(init, 'time', `init ${k} keys: start to exit`, 'ms'),
          );
      } finally {
        await central.stop();
      }
    }
    if (agentOnly) return figures;
    const webhook: Sample[] = [];
    // The webhook is not injected: it runs with the chart's service flags (unless comparing flags).
    for (let run = 0; run < runs; run++) webhook.push(await webhookRun(dir, webhookFlags));
    figures.push(
      figure(webhook, 'idle', 'webhook: idle RSS', 'MiB'),
      figure(webhook, 'idleAnon', 'webhook: idle, anonymous', 'MiB'),
      figure(webhook, 'after', 'webhook: after 200 req/s for 5 s', 'MiB'),
      figure(webhook, 'peak', 'webhook: peak RSS (VmHWM)', 'MiB'),
      figure(webhook, 'failed', 'webhook: failed reviews', ''),
    );
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a))) || 3;
  const flags = arg('node-flags')?.split(' ').filter(Boolean) ?? POD_NODE_FLAGS;
  const keys = arg('keys')?.split(',').map(Number);
  const agentOnly = process.argv.includes('--agent-only');
  const env = Object.fromEntries(
    (arg('env') ?? '')
      .split(' ')
      .filter(Boolean)
      .map((kv) => kv.split('=', 2) as [string, string]),
  );
  printFigures(
    'footprint',
    `node bench/footprint.ts ${runs} --node-flags="${flags.join(' ')}"${keys ? ` --keys=${keys.join(',')}` : ''}${agentOnly ? ' --agent-only' : ''}${arg('env') ? ` --env="${arg('env')}"` : ''}`,
    await benchFootprint({ runs, flags, keys, agentOnly, env }),
  );
}
