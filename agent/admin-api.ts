// The admin address: /healthz, /readyz and /metrics only — never a value — so it can
// listen on the pod IP for the kubelet and Prometheus.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export type Check = () => { readonly ok: boolean; readonly reason: string };

export function createAdminApi(options: { registry: Registry; healthy: Check; ready: Check }) {
  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('admin endpoints are read-only\n');
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const { ok, reason } = (path === '/healthz' ? options.healthy : options.ready)();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${ok ? 'ok' : 'not ok'}: ${reason}\n`);
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('the admin address serves /healthz, /readyz and /metrics only\n');
  };
}
