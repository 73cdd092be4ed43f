// Golden files: every workload in shared/fixtures, annotated for injection, injected
// exactly as the webhook would, compared in full with a reviewed expected output
// (test/golden/), and the mutated pod validated against the Kubernetes schemas.
// UPDATE_GOLDEN=1 rewrites the expected files; review the diff before committing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Pod } from 'kubernetes-models/v1';
import { injectManifest } from '../../webhook/workload.ts';
import { parseOptions } from '../../src/options/define.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from '../../webhook/webhook-options.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'workloads');
const GOLDEN = join(import.meta.dirname, '..', 'golden');
const options = parseOptions(
  injectionOptionTable,
  ['--central-url', 'http://llm-config.llm-config.svc:8080', '--central-header', 'X-Forwarded-Proto: https'],
  {},
);
export const context = { defaults: injectionDefaults(options), settings: injectorSettings(options), namespaceAnnotations: () => ({}) };

const TEMPLATE: Record<string, (o: any) => any> = {
  Pod: (o) => o,
  CronJob: (o) => o.spec.jobTemplate.spec.template,
};
const templateOf = (o: any) => (TEMPLATE[o.kind] ?? ((x: any) => x.spec.template))(o);

function annotate(manifest: any, extra: Record<string, string> = {}): any {
  const template = templateOf(manifest);
  template.metadata ??= {};
  template.metadata.annotations = {
    ...template.metadata.annotations,
    'config.llm-dev-ops.io/inject': 'true',
    'config.llm-dev-ops.io/namespaces': 'ml-service,shared',
    ...extra,
  };
  return manifest;
}

/** Workloads that listen on the agent's default local API port: refused as they are, injected with http-port moved. */
const LISTENS_ON_8080: Record<string, string> = {
  'k8s-examples-pod-javaweb.yaml': 'tomcat',
  'microservices-demo-deployment-frontend.yaml': 'server',
};

const fixtures = existsSync(FIXTURES)
  ? readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
  : [];

test('fixtures are present', () =>
  assert.equal(fixtures.length, 24, `expected the 24 workloads in ${FIXTURES} (shared/ lies beside the checkout, as in CI)`));

for (const file of fixtures) {
  test(`golden: ${file}`, () => {
    const clashing = LISTENS_ON_8080[file];
    if (clashing !== undefined) {
      const refused = injectManifest(annotate(parse(readFileSync(join(FIXTURES, file), 'utf8'))), context);
      assert.match(
        String(refused.denied),
        new RegExp(`container "${clashing}" declares containerPort 8080, .*set config\\.llm-dev-ops\\.io/http-port`),
      );
    }
    const extra: Record<string, string> = clashing === undefined ? {} : { 'config.llm-dev-ops.io/http-port': '8081' };
    const manifest = annotate(parse(readFileSync(join(FIXTURES, file), 'utf8')), extra);
    const result = injectManifest(manifest, context);
    assert.equal(result.denied, undefined);
    const actual = stringify(result.manifest, { lineWidth: 0 });
    const goldenPath = join(GOLDEN, file);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(goldenPath, actual);
    assert.equal(
      actual,
      readFileSync(goldenPath, 'utf8'),
      `${file} differs from test/golden/${file} (UPDATE_GOLDEN=1 to rewrite, then review)`,
    );

    const namespace = (manifest as any).metadata?.namespace;
    const template = templateOf(result.manifest);
    if (namespace === 'kube-system') {
      assert.equal(result.injected, false, 'kube-system is left alone');
      return;
    }
    assert.equal(result.injected, true);
    const pod = new Pod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', ...template.metadata }, spec: template.spec } as any);
    pod.validate(); // throws on schema violations
    const again = injectManifest(result.manifest, context);
    assert.deepEqual(again.manifest, result.manifest, 'injecting an injected pod changes nothing');
  });
}
