// HTTP only: POST /mutate decodes the body and hands it to the pure `mutate`; health
// and readiness. A body that is not an AdmissionReview is a 400, never a crash.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorCode } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';
import { mutate, type MutateContext } from './mutate.ts';

const MAX_BODY = 3 * 1024 * 1024; // the API server's own request limit
/** The routes the chart's MutatingWebhookConfiguration and probes point at. */
export const ROUTES = { mutate: '/mutate', health: '/healthz', ready: '/readyz', metrics: '/metrics' } as const;

export type AdmissionHandlerOptions = {
  /** Prometheus text for GET /metrics (no values: counts and latencies only). */
  readonly metrics?: () => Promise<{ contentType: string; text: string }>;
  readonly context: MutateContext;
  readonly ready: () => { ok: boolean; reason: string };
  readonly logger: Logger;
  readonly onAdmission?: (result: 'patched' | 'allowed' | 'denied' | 'bad_request', seconds: number) => void;
};

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' }).end(text);
}

export function createAdmissionHandler(options: AdmissionHandlerOptions) {
  const { logger } = options;
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === ROUTES.health) return send(res, 200, 'ok\n');
    if (path === ROUTES.ready) {
      const { ok, reason } = options.ready();
      return send(res, ok ? 200 : 503, `${ok ? 'ok' : 'not ok'}: ${reason}\n`);
    }
    if (path === ROUTES.metrics && options.metrics) {
      const { contentType, text } = await options.metrics();
      res.writeHead(200, { 'content-type': contentType }).end(text);
      return;
    }
    if (path !== ROUTES.mutate) return send(res, 404, 'POST /mutate, GET /healthz, GET /readyz, GET /metrics\n');
    if (req.method !== 'POST') return send(res, 405, 'POST an admission.k8s.io/v1 AdmissionReview to /mutate\n');
    const started = performance.now();
    const bad = (message: string, status = 400) => {
      options.onAdmission?.('bad_request', (performance.now() - started) / 1000);
      logger.warn({ status, reason: message }, 'bad admission request');
      send(res, status, { error: message });
    };
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return bad('content type must be application/json');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return bad(`body over ${MAX_BODY} bytes`, 413);
      chunks.push(chunk);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return bad('body is not JSON');
    }
    try {
      const review = mutate(body, options.context);
      const { response } = review;
      const result = !response.allowed ? 'denied' : response.patch ? 'patched' : 'allowed';
      options.onAdmission?.(result, (performance.now() - started) / 1000);
      if (result !== 'allowed')
        logger.info({ uid: response.uid, result, reason: response.status?.message, warnings: response.warnings }, 'admission');
      send(res, 200, review);
    } catch (error) {
      if (errorCode(error) === 'LLMC_ERR_BAD_REVIEW') return bad((error as Error).message);
      throw error;
    }
  };
}
