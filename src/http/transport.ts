// One HTTP/1.1 exchange, whichever client library carries it. The central client and the
// reload notifier speak this shape; a program picks the library (docs/sizing.md):
// per-pod processes (agent, init) use Node's own client (node-http-transport.ts), the
// relay, one per cluster, keeps undici's pool (undici-transport.ts).

import type { Readable } from 'node:stream';

export type TlsSettings = {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
};

export type TransportSettings = {
  readonly tls: TlsSettings;
  /** Bound on TCP connect plus TLS handshake. */
  readonly connectTimeoutMs: number;
  /** Connections kept to the origin (a watch stream holds one). */
  readonly connections: number;
  /** An idle kept-alive connection is closed after this long. */
  readonly keepAliveMs: number;
};

export type Exchange = {
  readonly method: 'GET' | 'POST';
  /** Path and query, already encoded. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Aborts the exchange, the answer's body included, until that body ends. */
  readonly signal?: AbortSignal | undefined;
  /** From sending to the end of the response headers. */
  readonly headersTimeoutMs: number;
  /** Longest silence between two body chunks; 0 for none (a watch stream keeps its own heartbeat). */
  readonly bodyTimeoutMs: number;
};

export type Answer = {
  readonly statusCode: number;
  /** Lower-case names; repeated headers as arrays, as both libraries give them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
};

export interface HttpTransport {
  /** Resolves once the response headers are in; rejects with the library's network error before that. */
  exchange(exchange: Exchange): Promise<Answer>;
  /** Ends every exchange still running or waiting for a connection, and refuses new ones. */
  close(): Promise<void>;
}

export type TransportFactory = (origin: URL, settings: TransportSettings) => HttpTransport;

/**
 * Reads and drops a body so its connection can be reused; one larger than `limit`
 * (or one that fails) is cut instead of being read to the end.
 */
export async function discard(body: Readable, limit = 64 * 1024): Promise<void> {
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        return;
      }
    }
  } catch {
    // a body that fails while it is dropped has nothing left to tell
  }
}
