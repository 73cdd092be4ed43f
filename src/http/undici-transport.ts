// HTTP/1.1 exchanges on undici's Pool: what the relay uses (one process per cluster,
// many upstream requests, memory not the constraint). Per-pod processes use
// node-http-transport.ts instead (docs/sizing.md says why).

import { Pool } from '../lean/undici.ts';
import type { HttpTransport, TransportSettings } from './transport.ts';

export function createUndiciTransport(origin: URL, settings: TransportSettings): HttpTransport {
  const { ca, cert, key, rejectUnauthorized } = settings.tls;
  const pool = new Pool(origin.origin, {
    connect: { ca, cert, key, rejectUnauthorized, timeout: settings.connectTimeoutMs },
    keepAliveTimeout: settings.keepAliveMs,
    connections: settings.connections,
  });
  return {
    async exchange(exchange) {
      const response = await pool.request({
        path: exchange.path,
        method: exchange.method,
        headers: exchange.headers,
        body: exchange.body,
        signal: exchange.signal,
        headersTimeout: exchange.headersTimeoutMs,
        bodyTimeout: exchange.bodyTimeoutMs,
      });
      // A body destroyed unread (a wrong content type) fails with RequestAbortedError: not a crash; readers still see errors.
      response.body.on('error', () => undefined);
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    },
    async close() {
      // Final and prompt, as the contract says: requests still running or queued end now.
      await pool.destroy();
    },
  };
}
