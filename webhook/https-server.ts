// The webhook's HTTPS server: the TLS policy, and Node's own request timers set far
// below their defaults (60 s for headers, 300 s per request), so a client that opens
// connections and stalls is cut off in seconds. The body deadline and the bytes-in-
// flight budget live in the admission handler, which answers 408/413/503 itself.

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CertificatePair } from './tls-files.ts';
import { TLS_POLICY } from './tls-policy.ts';

export type ServerTimeouts = {
  /** Time for a request's headers to arrive (from the start of the request). */
  readonly headersTimeoutMs: number;
  /** The handler's own body deadline; Node's request timeout sits one second above it as a backstop. */
  readonly bodyTimeoutMs: number;
};

export function createWebhookServer(
  pair: CertificatePair,
  timeouts: ServerTimeouts,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  return createServer(
    {
      ...pair,
      ...TLS_POLICY,
      handshakeTimeout: timeouts.headersTimeoutMs,
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.headersTimeoutMs + timeouts.bodyTimeoutMs + 1000,
      // Node checks both timers on this period (default 30 s): a tighter check keeps them honest.
      connectionsCheckingInterval: Math.min(500, timeouts.headersTimeoutMs),
      // An idle keep-alive connection costs a socket; the API server reconnects in a moment.
      keepAliveTimeout: 5000,
    },
    handle,
  );
}

/** A certificate reload: the same policy with the new pair. */
export function reloadCertificate(server: Server, pair: CertificatePair): void {
  server.setSecureContext({ ...pair, ...TLS_POLICY });
}
