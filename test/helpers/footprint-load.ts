// Load and measurement shared by bench/footprint.ts and test/faults/never-oom.test.ts:
// a seed of N keys with ~350-byte values (issue 14's figure), an open-loop read burst
// over every key with full-namespace lists, and memory from /proc/<pid>/status.

import { readFile, writeFile } from 'node:fs/promises';
import { Pool } from 'undici';

export const NS = 'bench';

export type Memory = { rss: number; anon: number; hwm: number };

/** VmRSS, RssAnon and VmHWM (peak) in MiB. */
export async function memoryMiB(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), hwm: mib('VmHWM') };
}

export const key = (i: number) => `key-${String(i).padStart(5, '0')}`;

/** One namespace of `keys` entries whose JSON value is ~350 bytes (the figure). */
export async function writeFootprintSeed(path: string, keys: number): Promise<void> {
  const values: Record<string, unknown> = {};
  for (let i = 0; i < keys; i++) {
    values[key(i)] = {
      model: `model-${i}`,
      temperature: 0.7,
      max_tokens: 1024,
      system_prompt: `You are assistant ${i}. `.padEnd(280, 'Answer briefly and cite sources. '),
    };
  }
  await writeFile(path, JSON.stringify({ development: { [NS]: values } }));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Median of `count` samples taken every 250 ms: one GC in the window does not decide the figure. */
export async function settled(pid: number, count = 12): Promise<Memory> {
  const samples: Memory[] = [];
  for (let i = 0; i < count; i++) {
    samples.push(await memoryMiB(pid));
    await sleep(250);
  }
  return samples.sort((a, b) => a.rss - b.rss)[Math.floor(count / 2)]!;
}

export type BurstResult = { ok: number; failed: number; failures: Record<string, number> };

/** Open loop: `rate` req/s for `seconds`, alternating entries and bare values over every key; every `listEvery`-th a full list. */
export async function readBurst(base: string, keys: number, rate = 2000, seconds = 5, listEvery = 100): Promise<BurstResult> {
  const pool = new Pool(base, { connections: 16 });
  let ok = 0;
  const failures: Record<string, number> = {};
  const fail = (why: string) => void (failures[why] = (failures[why] ?? 0) + 1);
  const path = (n: number) =>
    n % listEvery === 0 ? `/api/v1/configs/${NS}` : `${n % 2 ? '/v1/values' : '/api/v1/configs'}/${NS}/${key(keys === 0 ? n : n % keys)}`;
  const send = async (n: number) => {
    try {
      const response = await pool.request({ path: path(n), method: 'GET' });
      for await (const _ of response.body); // read to the end: a namespace list is megabytes
      if (response.statusCode === 200 || (keys === 0 && response.statusCode === 404)) ok++;
      else fail(`HTTP ${response.statusCode}`);
    } catch (error) {
      fail((error as NodeJS.ErrnoException).code ?? (error as Error).name);
    }
  };
  const started = performance.now();
  const total = rate * seconds;
  const inflight: Promise<void>[] = [];
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) inflight.push(send(sent));
    await sleep(1);
  }
  await Promise.all(inflight);
  await pool.close();
  return { ok, failed: Object.values(failures).reduce((sum, n) => sum + n, 0), failures };
}
