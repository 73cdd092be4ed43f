// A fault-injecting HTTP proxy in front of the real reference central API: it forwards
// requests unchanged until told to misbehave — answer slowly, send malformed or
// oversized bodies, or cut the watch stream in the middle of an event.

import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export type Fault = 'none' | 'slow' | 'malformed' | 'oversized' | 'cut-stream';

export class FaultProxy {
  fault: Fault = 'none';
  slowMs = 3000;
  readonly seen: Array<{ path: string; status: number; fault: Fault }> = [];
  readonly #upstream: string;
  #server: Server | undefined;
  readonly #open = new Set<ServerResponse>();
  url = '';

  constructor(upstream: string) {
    this.#upstream = upstream;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res).catch(() => res.destroy()));
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Ends every open (watch) connection, as a proxy restart would. */
  dropConnections(): void {
    for (const res of this.#open) res.destroy();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    this.#server?.closeAllConnections();
    this.#server?.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fault = this.fault;
    const path = req.url ?? '/';
    const watch = path.startsWith('/api/v1/watch');
    if (!watch && fault === 'slow') await new Promise((r) => setTimeout(r, this.slowMs));
    if (!watch && fault === 'malformed')
      return this.#answer(res, path, 200, '[{"id":"x","namespace":"ml-service","key":"model","value":', fault);
    if (!watch && fault === 'oversized')
      return this.#answer(res, path, 200, `[${'{"pad":"' + 'x'.repeat(1024) + '"},'.repeat(40_000)}{}]`, fault);
    const upstream = await request(`${this.#upstream}${path}`, {
      method: req.method as 'GET',
      headers: stripHop(req.headers),
      body: req.method === 'GET' ? null : req,
    });
    const headers = Object.fromEntries(
      Object.entries(upstream.headers).filter(([k]) => !['transfer-encoding', 'connection', 'keep-alive'].includes(k)),
    );
    res.writeHead(upstream.statusCode, headers as Record<string, string>);
    this.seen.push({ path, status: upstream.statusCode, fault });
    if (!watch) {
      res.end(Buffer.from(await upstream.body.arrayBuffer()));
      return;
    }
    this.#open.add(res);
    res.on('close', () => {
      this.#open.delete(res);
      upstream.body.destroy();
    });
    for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
      const text = chunk.toString('utf8');
      if (this.fault === 'cut-stream' && text.includes('event: put')) {
        // Half an event, then the connection dies: the agent must not apply it.
        res.write(text.slice(0, Math.floor(text.length / 2)));
        res.destroy();
        return;
      }
      res.write(chunk);
    }
    res.end();
  }

  #answer(res: ServerResponse, path: string, status: number, body: string, fault: Fault): void {
    this.seen.push({ path, status, fault });
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  }
}

function stripHop(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (typeof v === 'string' && !['host', 'connection', 'keep-alive', 'transfer-encoding'].includes(k)) out[k] = v;
  return out;
}
