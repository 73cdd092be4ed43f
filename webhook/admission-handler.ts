// HTTP only: POST /mutate decodes the body and hands it to the pure `mutate`; health
// and readiness. A body that is not an AdmissionReview is a 400, never a crash. Bodies
// are bounded three ways, so clients that send slowly or stall cannot pile up memory:
// a size limit (413), a deadline for the whole body (408), and a budget of body bytes
// in flight across all requests (503 with Retry-After).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorCode } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';
import { BodyBudget } from './body-budget.ts';
import { mutate, type MutateContext } from './mutate.ts';

export type BodyLimits = {
  /** Largest body accepted (the API server's own request limit is 3 MiB). */
  readonly maxBodyBytes: number;
  /** From the request's headers to its last body byte; well under the webhook's timeoutSeconds. */
  readonly bodyTimeoutMs: number;
  /** Body bytes held across all requests at once. */
  readonly maxInflightBytes: number;
};

export const DEFAULT_BODY_LIMITS: BodyLimits = Object.freeze({
  maxBodyBytes: 3 * 1024 * 1024,
  bodyTimeoutMs: 2000,
  maxInflightBytes: 32 * 1024 * 1024,
});
/** The routes the chart's MutatingWebhookConfiguration and probes point at. */
export const ROUTES = { mutate: '/mutate', health: '/healthz', ready: '/readyz', metrics: '/metrics' } as const;

export type AdmissionHandlerOptions = {
  /** Prometheus text for GET /metrics (no values: counts and latencies only). */
  readonly metrics?: () => Promise<{ contentType: string; text: string }>;
  readonly context: MutateContext;
  readonly ready: () => { ok: boolean; reason: string };
  readonly logger: Logger;
  readonly onAdmission?: (result: 'patched' | 'allowed' | 'denied' | 'bad_request', seconds: number) => void;
  readonly limits?: BodyLimits;
};

type BodyFailure = { readonly status: 408 | 413 | 503; readonly message: string };

/** Reads the whole body within the limits; on failure nothing is kept and the caller closes the connection. */
function readBody(req: IncomingMessage, limits: BodyLimits, budget: BodyBudget): Promise<Buffer | BodyFailure> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  const share = budget.open(Number.isSafeInteger(declared) ? declared : undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  let settle: (result: Buffer | BodyFailure) => void = () => {};
  const done = new Promise<Buffer | BodyFailure>((resolve) => {
    settle = resolve;
  });
  const finish = (result: Buffer | BodyFailure) => {
    clearTimeout(timer);
    share.release();
    req.removeListener('data', onData);
    if (!Buffer.isBuffer(result)) req.pause();
    settle(result);
    settle = () => {};
  };
  const busy: BodyFailure = { status: 503, message: 'too many request bytes in flight; retry' };
  const tooLarge: BodyFailure = { status: 413, message: `body over ${limits.maxBodyBytes} bytes` };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limits.maxBodyBytes) return finish(tooLarge);
    if (!(declared > 0) && !share.take(chunk.length)) return finish(busy);
    chunks.push(chunk);
  };
  if (declared > limits.maxBodyBytes) finish(tooLarge);
  // A declared length is taken whole up front: a client cannot hold a small share and then grow it.
  else if (declared > 0 && !share.take(declared)) finish(busy);
  else {
    timer = setTimeout(() => finish({ status: 408, message: `body not received within ${limits.bodyTimeoutMs} ms` }), limits.bodyTimeoutMs);
    req.on('data', onData);
    req.once('end', () => finish(Buffer.concat(chunks)));
    req.once('close', () => finish({ status: 408, message: 'connection closed before the body ended' }));
    req.on('error', () => finish({ status: 408, message: 'request aborted' }));
  }
  return done;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' }).end(text);
}

export function createAdmissionHandler(options: AdmissionHandlerOptions) {
  const { logger } = options;
  const limits = options.limits ?? DEFAULT_BODY_LIMITS;
  const smallBody = 256 * 1024;
  const budget = new BodyBudget({
    capacity: limits.maxInflightBytes,
    smallBody,
    headroom: Math.min(4 * 1024 * 1024, Math.floor(limits.maxInflightBytes / 4)),
  });
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
    const raw = await readBody(req, limits, budget);
    if (!Buffer.isBuffer(raw)) {
      // The rest of the body is not read: answer, then close the connection under it.
      res.setHeader('connection', 'close');
      if (raw.status === 503) res.setHeader('retry-after', '1');
      res.once('finish', () => req.socket.destroy());
      return bad(raw.message, raw.status);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
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
