// Load generator for bench/read, run as its own process so it does not share a core
// with the server under test. A minimal keep-alive HTTP/1.1 client over TCP or a Unix
// socket (the answers are small and carry Content-Length), so the generator's own
// overhead stays in microseconds.
//   node bench/load-generator.ts '<json config>'   → prints one JSON result line
// config: { target: {host,port}|{path}, urlPath, headers, mode: 'closed'|'open',
//           connections, requests?, durationMs?, rate? }

import { connect, type Socket } from 'node:net';

type Config = {
  target: { host: string; port: number } | { path: string };
  urlPath: string;
  headers?: Record<string, string>;
  mode: 'closed' | 'open';
  connections: number;
  requests?: number;
  durationMs?: number;
  rate?: number;
};

class Connection {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: ((ok: boolean) => void) | undefined;
  readonly #request: Buffer;

  constructor(config: Config, ready: () => void) {
    // A loopback Host: over TCP the agent refuses any other (DNS rebinding guard, SPEC §5).
    const headers = Object.entries({ host: '127.0.0.1', ...config.headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    this.#request = Buffer.from(`GET ${config.urlPath} HTTP/1.1\r\n${headers}\r\n`);
    this.#socket = 'path' in config.target ? connect(config.target.path, ready) : connect(config.target.port, config.target.host, ready);
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', () => this.#pending?.(false));
  }

  send(): Promise<boolean> {
    return new Promise((resolve) => {
      this.#pending = resolve;
      this.#socket.write(this.#request);
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end === -1) return;
    const head = this.#buffer.subarray(0, end).toString('latin1');
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.#buffer.length < end + 4 + length) return;
    const ok = head.startsWith('HTTP/1.1 200') || head.startsWith('HTTP/1.1 304');
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    const resolve = this.#pending;
    this.#pending = undefined;
    resolve?.(ok);
  }

  close(): void {
    this.#socket.destroy();
  }
}

async function main(config: Config): Promise<void> {
  const connections = await Promise.all(
    Array.from(
      { length: config.connections },
      () =>
        new Promise<Connection>((resolve) => {
          const c: Connection = new Connection(config, () => resolve(c));
        }),
    ),
  );
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  if (config.mode === 'closed') {
    const deadline = started + (config.durationMs ?? Number.POSITIVE_INFINITY);
    let remaining = config.requests ?? Number.POSITIVE_INFINITY;
    await Promise.all(
      connections.map(async (c) => {
        while (remaining-- > 0 && performance.now() < deadline) {
          const t0 = performance.now();
          if (!(await c.send())) errors++;
          latencies.push(performance.now() - t0);
        }
      }),
    );
  } else {
    // Open loop: requests are due at a fixed rate; latency counts from when each was
    // due, so a slow server cannot hide its queueing (no coordinated omission).
    const interval = 1000 / config.rate!;
    const total = Math.floor((config.durationMs! / 1000) * config.rate!);
    const free = [...connections];
    const waiting: Array<(c: Connection) => void> = [];
    const acquire = () =>
      new Promise<Connection>((resolve) => {
        const c = free.pop();
        if (c) resolve(c);
        else waiting.push(resolve);
      });
    const release = (c: Connection) => {
      const next = waiting.shift();
      if (next) next(c);
      else free.push(c);
    };
    const inflight: Promise<void>[] = [];
    // Every millisecond, send what has come due; yielding between ticks lets answers in.
    for (let sent = 0; sent < total; ) {
      const dueNow = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
      for (; sent < dueNow; sent++) {
        const due = started + sent * interval;
        inflight.push(
          acquire().then(async (c) => {
            if (!(await c.send())) errors++;
            latencies.push(performance.now() - due);
            release(c);
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inflight);
  }
  const elapsed = performance.now() - started;
  for (const c of connections) c.close();
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN;
  process.stdout.write(
    `${JSON.stringify({ requests: latencies.length, errors, seconds: elapsed / 1000, rps: latencies.length / (elapsed / 1000), p50: at(50), p99: at(99), max: at(100) })}\n`,
  );
}

await main(JSON.parse(process.argv[2]!) as Config);
