// The webhook's own metrics: admissions by result and their latency.

import { Counter, Histogram, type Registry } from '../src/lean/prom-client.ts';

/** Webhook metrics: admissions by result (patched, allowed, denied, bad_request) and their latency. */
export function createAdmissionMetrics(registry: Registry) {
  const total = new Counter({
    name: 'llm_config_admissions_total',
    help: 'AdmissionReviews answered, by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'llm_config_admission_duration_seconds',
    help: 'Time to answer one AdmissionReview (body read to response written).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  });
  return (result: string, seconds: number): void => {
    total.inc({ result });
    duration.observe(seconds);
  };
}
