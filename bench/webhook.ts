// Admission latency of the webhook over HTTPS at a steady 200 req/s (open loop:
// latency counts from when each request was due). The pod is the largest fixture
// (grafana: 38 volumes), annotated for injection. Bar (SPEC §10): p99 < 5 ms.
// Then stalled bodies (issue 12 #7): 60 clients send 3 MiB of an 8 MiB chunked body
// and stall; the webhook's RSS before and at the peak, how they were answered, and
// whether a valid review is answered meanwhile.
//   node bench/webhook.ts [seconds]

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Pool } from 'undici';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CliProcess, IMAGE_ENV, SERVICE_NODE_FLAGS, warmCompileCache, webhookArgs } from '../test/helpers/cli-process.ts';
import { generateTlsMaterial } from '../webhook/tls-material.ts';
import { printFigures, summarise, type Figure } from './bench-lib.ts';

const FIXTURE = join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'workloads', 'kube-prometheus-deployment-grafana.yaml');

const BARE = join(import.meta.dirname, 'bare-https-server.ts');

async function fetchOnce(url: string, ca: string, body: string) {
  const pool = new Pool(url, { connect: { ca } });
  const response = await pool.request({ path: '/mutate', method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.body.text();
  await pool.close();
  return { text: async () => text };
}

/** Open loop: requests due at a fixed rate; latency from when each was due. */
async function openLoop(
  url: string,
  ca: string,
  body: string,
  seconds: number,
  rate: number,
): Promise<{ latencies: number[]; errors: number }> {
  const pool = new Pool(url, { connections: 8, connect: { ca } });
  const send = async () => {
    const response = await pool.request({ path: '/mutate', method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.body.text();
    if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
  };
  for (let i = 0; i < 300; i++) await send(); // warm-up: TLS sessions, JIT
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const total = seconds * rate;
  const inflight: Promise<void>[] = [];
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const dueAt = started + (sent * 1000) / rate;
      inflight.push(
        send().then(
          () => void latencies.push(performance.now() - dueAt),
          () => void errors++,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  await pool.close();
  return { latencies, errors };
}

function rssMiB(pid: number): number {
  const kib = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kib / 1024;
}

/** 60 raw TLS clients: headers, 3 MiB of a chunked body, then silence. Resolves when each was answered or stopped sending. */
async function stalledBodies(url: string, ca: string, pid: number, body: string): Promise<Figure[]> {
  const { port } = new URL(url);
  const before = rssMiB(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 20);
  const statuses = new Map<string, number>();
  const clients = Array.from({ length: 60 }, () => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), ca, servername: 'localhost' });
    const done = new Promise<void>((resolve) => {
      let answered = false;
      socket.on('secureConnect', async () => {
        // The webhook cuts these clients (408, 503 or a reset): a failed write ends this client, not the bench.
        try {
          socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          for (let sent = 0; sent < 3 * 1024 * 1024 && !answered; sent += chunk.length) {
            if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) await once(socket, 'drain');
          }
        } catch {
          // reset by the webhook
        }
        resolve();
      });
      socket.once('data', (data: Buffer) => {
        answered = true;
        const status = /^HTTP\/1\.1 (\d{3})/.exec(data.toString())?.[1] ?? '?';
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        resolve();
      });
      socket.on('error', () => resolve());
    });
    return { socket, done };
  });
  // While they send and stall: one valid review.
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  const valid = await (await fetchOnce(url, ca, body)).text();
  const validMs = performance.now() - started;
  await Promise.all(clients.map((c) => c.done));
  await new Promise((r) => setTimeout(r, 3000)); // past the body deadline: the stalled ones are cut
  clearInterval(sampler);
  for (const { socket } of clients) socket.destroy();
  return [
    { name: 'stalled bodies: webhook RSS before', value: before, unit: 'MiB' },
    { name: 'stalled bodies: webhook RSS peak (60 × 3 MiB sent and stalled)', value: peak, unit: 'MiB' },
    { name: `stalled bodies: answers ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}`, value: statuses.size, unit: 'kinds' },
    {
      name: `stalled bodies: a valid review meanwhile (${JSON.parse(valid).response?.allowed === true ? 'answered' : 'NOT answered'})`,
      value: validMs,
      unit: 'ms',
    },
  ];
}

export async function benchWebhook(seconds = 10, rate = 200): Promise<Figure[]> {
  warmCompileCache(SERVICE_NODE_FLAGS);
  const dir = await mkdtemp(join(tmpdir(), 'llmc-bench-webhook-'));
  const tls = await generateTlsMaterial({ commonName: 'bench', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 1 });
  await writeFile(join(dir, 'tls.crt'), tls.certPem);
  await writeFile(join(dir, 'tls.key'), tls.keyPem);
  const webhook = new CliProcess(webhookArgs(dir), IMAGE_ENV, SERVICE_NODE_FLAGS);
  try {
    // Generous: on a busy machine the start alone can take seconds.
    const url = String((await webhook.waitForLog((l) => l.msg === 'listening', 60_000)).url);
    const template = (
      parse(await readFile(FIXTURE, 'utf8')) as {
        spec: { template: { metadata: { annotations?: Record<string, string> }; spec: unknown } };
      }
    ).spec.template;
    template.metadata.annotations = {
      ...template.metadata.annotations,
      'config.llm-dev-ops.io/inject': 'true',
      'config.llm-dev-ops.io/namespaces': 'ml-service',
    };
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'bench',
        kind: { kind: 'Pod' },
        operation: 'CREATE',
        namespace: 'monitoring',
        object: { metadata: template.metadata, spec: template.spec },
      },
    });
    const answer = await (await fetchOnce(url, tls.caPem, body)).text();
    const bare = spawn(
      process.execPath,
      [...SERVICE_NODE_FLAGS, BARE, JSON.stringify({ cert: tls.certPem, key: tls.keyPem, body: answer })],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...IMAGE_ENV } },
    );
    const [portLine] = (await once(bare.stdout!, 'data')) as [Buffer];
    const bareUrl = `https://127.0.0.1:${portLine.toString().trim()}`;
    try {
      const baseline = summarise((await openLoop(bareUrl, tls.caPem, body, seconds, rate)).latencies);
      const run = await openLoop(url, tls.caPem, body, seconds, rate);
      const s = summarise(run.latencies);
      const stalls = await stalledBodies(url, tls.caPem, webhook.child.pid!, body);
      return [
        ...stalls,
        { name: `bare node:https, same bytes, ${rate} req/s: p50`, value: baseline.p50, unit: 'ms' },
        { name: `bare node:https, same bytes, ${rate} req/s: p99`, value: baseline.p99, unit: 'ms' },
        { name: `webhook admission at ${rate} req/s, ${seconds}s: p50 (n=${s.n})`, value: s.p50, unit: 'ms' },
        { name: `webhook admission at ${rate} req/s, ${seconds}s: p99`, value: s.p99, unit: 'ms', bar: 'p99 < 5 ms', ratio: s.p99 / 5 },
        { name: "webhook p99 minus bare p99 (admission's own cost)", value: s.p99 - baseline.p99, unit: 'ms' },
        { name: 'webhook max', value: s.max, unit: 'ms' },
        { name: 'errors', value: run.errors, unit: '' },
        { name: 'AdmissionReview size (grafana, 38 volumes)', value: body.length / 1024, unit: 'KiB' },
      ];
    } finally {
      bare.kill('SIGTERM');
    }
  } finally {
    await webhook.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const seconds = Number(process.argv[2]) || 10;
  printFigures('webhook admission', `node bench/webhook.ts ${seconds}`, await benchWebhook(seconds));
}
