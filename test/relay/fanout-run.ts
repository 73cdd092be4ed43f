// SPEC §10 "relay fan-out", measured: an upstream-strict reference central API, one
// relay in front of it, `streams` simulated watchers (plain http.request, one process)
// and 2 real agents behind the relay. Counts upstream list requests and 429s, times
// each central write until it reached every stream, and reads the relay's RSS. Used
// by the fault test (which asserts) and bench/relay.ts (which reports).

import { Agent, request as httpRequest } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agentArgs,
  CliProcess,
  devServerArgs,
  relayArgs,
  IMAGE_ENV,
  SERVICE_NODE_FLAGS,
  warmCompileCache,
  waitFor,
  writeValue,
} from '../helpers/cli-process.ts';
import { openWatch, upstreamRequests, type Watcher } from './relay-helpers.ts';

export type FanoutResult = {
  readonly streams: number;
  readonly namespaces: number;
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly upstreamLists: number;
  readonly upstreamListsAllowed: number;
  readonly rateLimited: number;
  readonly writes: number;
  /** ms from each central write to its event on each watching stream, sorted. */
  readonly delaysMs: readonly number[];
  readonly missed: number;
  readonly agentsUpdated: number;
  readonly relayRssMiB: number;
  readonly openMs: number;
};

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runFanout(options: {
  streams: number;
  namespaces: number;
  intervalSec: number;
  writes: number;
}): Promise<FanoutResult> {
  warmCompileCache(SERVICE_NODE_FLAGS); // the relay's RSS is reported: measure it without Node's TypeScript stripper
  const dir = await mkdtemp(join(tmpdir(), 'llmc-fanout-'));
  const processes: CliProcess[] = [];
  const watchers: Watcher[] = [];
  const pool = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  try {
    const names = Array.from({ length: options.namespaces }, (_, i) => `ns-${i}`);
    await writeFile(join(dir, 'seed.yaml'), `development:\n${names.map((n) => `  ${n}:\n    model: v0\n`).join('')}`);
    const central = new CliProcess(devServerArgs(['--seed', join(dir, 'seed.yaml'), '--upstream-strict']));
    processes.push(central);
    const centralUrl = await central.listeningUrl();
    const relay = new CliProcess(
      relayArgs(centralUrl, [
        '--central-header',
        'X-Forwarded-Proto: https',
        '--auth',
        'none',
        '--poll-interval',
        `${options.intervalSec}s`,
      ]),
      IMAGE_ENV,
      SERVICE_NODE_FLAGS,
    );
    processes.push(relay);
    const relayUrl = `http://${String((await relay.waitForLog((l) => l.msg === 'relay started')).http)}`;
    const agentUrls: string[] = [];
    for (let i = 0; i < 2; i++) {
      const agent = new CliProcess(agentArgs({ url: relayUrl, namespaces: names[0]!, dir: join(dir, `agent-${i}`), socket: 'off' }));
      processes.push(agent);
      agentUrls.push(`http://${String((await agent.waitForLog((l) => l.msg === 'agent started')).http)}`);
    }

    const opening = Date.now();
    for (let i = 0; i < options.streams; i += 200) {
      const batch = Array.from({ length: Math.min(200, options.streams - i) }, (_, j) =>
        openWatch(`${relayUrl}/api/v1/watch?namespaces=${names[(i + j) % names.length]}&env=development`, {}, pool),
      );
      watchers.push(...(await Promise.all(batch)));
    }
    await waitFor(
      () => (watchers.every((w) => w.events.length > 0) ? true : undefined),
      undefined,
      () => 'every stream has its snapshot',
    );
    const openMs = Date.now() - opening;

    const windowStart = Date.now();
    const delays: number[] = [];
    let missed = 0;
    let last = 'v0';
    for (let w = 1; w <= options.writes; w++) {
      const namespace = names[(w * 3) % names.length]!;
      last = `v${w}`;
      const watching = watchers.filter((_, i) => i % names.length === (w * 3) % names.length);
      const writtenAt = Date.now();
      await writeValue(centralUrl, namespace, 'model', last, 'development', { 'x-forwarded-proto': 'https' });
      const arrived = (watcher: Watcher) => watcher.events.find((e) => e.event === 'put' && e.data.includes(`"value":"${last}"`));
      // Waits until every stream has it (bounded by the test timeout); the delays are figures, printed.
      await waitFor(
        () => (watching.every(arrived) ? true : undefined),
        undefined,
        () => `write ${last} on every stream of ${namespace}`,
      ).catch(() => undefined);
      for (const watcher of watching) {
        const event = arrived(watcher);
        if (event) delays.push(event.at - writtenAt);
        else missed++;
      }
      if (namespace !== names[0]) await writeValue(centralUrl, names[0]!, 'model', last, 'development', { 'x-forwarded-proto': 'https' });
    }
    // Measure upstream load over at least three intervals, whatever the writes took.
    await waitFor(() => (Date.now() - windowStart >= 3 * options.intervalSec * 1000 ? true : undefined));
    const agentsUpdated = (
      await Promise.all(
        agentUrls.map((url) =>
          waitFor(
            async () => ((await (await fetch(`${url}/v1/values/${names[0]}/model`)).text()) === last ? true : undefined),
            undefined,
            () => `agent ${url} has ${last}`,
          ).then(
            () => 1,
            () => 0,
          ),
        ),
      )
    ).reduce((a: number, b: number) => a + b, 0);
    const windowMs = Date.now() - windowStart;
    const relayRssMiB = await rssMiB(relay.child.pid!);
    const requests = upstreamRequests(central);
    const lists = requests.filter((r) => r.path.startsWith('/api/v1/configs/') && r.time >= windowStart).length;
    return {
      streams: watchers.length,
      namespaces: options.namespaces,
      intervalMs: options.intervalSec * 1000,
      windowMs,
      upstreamLists: lists,
      upstreamListsAllowed: options.namespaces * Math.ceil(windowMs / (options.intervalSec * 1000)) + options.namespaces,
      rateLimited: requests.filter((r) => r.status === 429).length,
      writes: options.writes,
      delaysMs: delays.sort((a, b) => a - b),
      missed,
      agentsUpdated,
      relayRssMiB,
      openMs,
    };
  } finally {
    for (const watcher of watchers) watcher.close();
    pool.destroy();
    for (const p of processes.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `readers` concurrent first reads of one cold namespace: their statuses, distinct bodies, and upstream requests made. */
export async function runColdReads(readers: number): Promise<{ ok: number; distinctBodies: number; upstreamRequests: number; ms: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'llmc-cold-'));
  const processes: CliProcess[] = [];
  const pool = new Agent({ keepAlive: true, maxSockets: 100 });
  try {
    await writeFile(join(dir, 'seed.yaml'), 'development:\n  cold:\n    model: gpt-4o\n    temperature: 0.2\n');
    const central = new CliProcess(devServerArgs(['--seed', join(dir, 'seed.yaml')]));
    processes.push(central);
    const centralUrl = await central.listeningUrl();
    const relay = new CliProcess(relayArgs(centralUrl, ['--auth', 'none', '--poll-interval', '1m']));
    processes.push(relay);
    const relayUrl = `http://${String((await relay.waitForLog((l) => l.msg === 'relay started')).http)}`;
    const read = (): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        httpRequest(`${relayUrl}/api/v1/configs/cold?env=development`, { agent: pool }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      });
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: readers }, read));
    const ms = Date.now() - started;
    return {
      ok: answers.filter((a) => a.status === 200).length,
      distinctBodies: new Set(answers.map((a) => a.body)).size,
      upstreamRequests: upstreamRequests(central, '/api/v1/configs/cold').length,
      ms,
    };
  } finally {
    pool.destroy();
    for (const p of processes.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
