// The PrometheusRule and the Grafana dashboard ask only for series that exist: the
// programs' own metrics (read from live prom-client registries built by the same
// functions the agent and the webhook use), `up`, and the kube-apiserver's admission
// webhook metrics. A renamed metric would otherwise leave an alert that never fires.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createAdmissionMetrics } from '../../webhook/admission-metrics.ts';
import { createHttpMetrics } from '../../src/metrics/http-metrics.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import { createSyncMetrics } from '../../src/sync/sync-metrics.ts';
import { certificateExpiryGauge } from '../../webhook/tls-material.ts';
import { find, helmHome, renderChart } from './chart-render.ts';

const { home, dispose } = helmHome();
after(dispose);

/** kube-apiserver metrics the rules use (documented in Kubernetes' metrics reference). */
const API_SERVER = ['apiserver_admission_webhook_fail_open_count', 'apiserver_admission_webhook_rejection_count', 'up'];

async function seriesNames(): Promise<Set<string>> {
  const registry = createRegistry({ processMetrics: true });
  createSyncMetrics(registry);
  createHttpMetrics(registry);
  createAdmissionMetrics(registry);
  certificateExpiryGauge(registry);
  const names = new Set<string>(API_SERVER);
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

/** Metric names in a PromQL expression: what is left once strings, label matchers, groupings, ranges and functions go. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset']);
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((w) => !keywords.has(w));
}

test('PrometheusRule and dashboard use only series that exist, and cover what operators expect', async () => {
  const { objects, result } = await renderChart(home, [
    ...['--set', 'agent.centralUrl=https://llm-config.example.internal'],
    ...['--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true', '--set', 'grafanaDashboard.enabled=true'],
  ]);
  assert.equal(result.code, 0, result.stderr);
  const known = await seriesNames();
  const rules = find(objects, 'PrometheusRule')!.spec.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) => g.rules);
  const dashboard = JSON.parse(find(objects, 'ConfigMap', 'llm-config-llm-config-injector-dashboard')!.data['llm-config.json']);
  const expressions: Array<[string, string]> = [
    ...rules.map((r: { alert: string; expr: string }): [string, string] => [r.alert, r.expr]),
    ...dashboard.panels.flatMap((p: { title: string; targets: Array<{ expr: string }> }) =>
      p.targets.map((t): [string, string] => [p.title, t.expr]),
    ),
  ];
  for (const [where, expr] of expressions) {
    const used = metricsIn(expr);
    assert.ok(used.length > 0, `${where}: no metric in ${expr}`);
    for (const metric of used) assert.ok(known.has(metric), `${where}: ${metric} is not a series anything exports`);
  }
  const alerts = rules.map((r: { alert: string }) => r.alert);
  for (const expected of [
    'LlmConfigAgentStale',
    'LlmConfigRenderFailing',
    'LlmConfigSyncFailing',
    'LlmConfigWebhookErrors',
    'LlmConfigWebhookSlow',
    'LlmConfigWebhookCertificateExpiry',
  ])
    assert.ok(alerts.includes(expected), expected);
  const stale = rules.find((r: { alert: string }) => r.alert === 'LlmConfigAgentStale')!;
  assert.match(stale.expr, /> 600$/, 'the documented default threshold');
});
