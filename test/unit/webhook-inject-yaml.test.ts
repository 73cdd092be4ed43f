// `llm-config inject` on YAML as people write it (issue 12 #11): YAML 1.1 numbers read
// and written as kubectl does (0400 is octal 256 and stays 0400), documents that are not
// injected copied byte for byte, comments and anchors kept in the injected one.
// UPDATE_GOLDEN=1 rewrites the expected output; review the diff before committing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { injectYaml } from '../../webhook/inject-command.ts';
import { injectManifest } from '../../webhook/workload.ts';
import { YAML_OPTIONS } from '../../webhook/yaml-manifests.ts';
import { InvalidSettingError } from '../../src/errors.ts';
import { parseOptions } from '../../src/options/define.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from '../../webhook/webhook-options.ts';

const options = parseOptions(injectionOptionTable, ['--central-url', 'http://central:8080'], {});
const context = { defaults: injectionDefaults(options), settings: injectorSettings(options), namespaceAnnotations: () => ({}) };

const DIR = join(import.meta.dirname, '..', 'golden', 'inject');
const INPUT = readFileSync(join(DIR, 'yaml11.input.yaml'), 'utf8');
const decode = (text: string): any[] => parseAllDocuments(text, YAML_OPTIONS as never).map((d) => d.toJS());

test('golden: octal modes, anchors, comments and several documents', () => {
  const { output, warnings, denied } = injectYaml(INPUT, 'input.yaml', context);
  assert.equal(denied, undefined);
  assert.deepEqual(warnings, []);
  const goldenPath = join(DIR, 'yaml11.output.yaml');
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(goldenPath, output);
  assert.equal(
    output,
    readFileSync(goldenPath, 'utf8'),
    'differs from test/golden/inject/yaml11.output.yaml (UPDATE_GOLDEN=1, then review)',
  );
});

test('what kubectl would read is unchanged except for the injection; octal stays octal', () => {
  const { output } = injectYaml(INPUT, 'input.yaml', context);
  const [configMap, deployment, pod] = decode(output);
  const [configMapIn, deploymentIn, podIn] = decode(INPUT);
  assert.deepEqual(configMap, configMapIn);
  assert.deepEqual(pod, podIn);
  assert.equal(podIn.spec.volumes[0].secret.defaultMode, 0o440, 'the input is read with YAML 1.1 numbers');
  assert.equal(configMapIn.data.window, '1:20', 'no sexagesimal numbers (go-yaml v2 keeps them as strings)');
  assert.equal(configMapIn.data.since, '2001-12-14', 'no timestamps');
  assert.deepEqual(injectManifest(deploymentIn, context).manifest, deployment, 'the injected document is what the webhook makes');
  assert.equal(deployment.spec.template.spec.volumes[0].secret.defaultMode, 0o400);
  assert.equal(deployment.spec.template.spec.volumes[0].secret.items[0].mode, 0o600);
  assert.match(output, /defaultMode: 0400 # owner read only\n/);
  assert.doesNotMatch(output, /defaultMode: 400\b/);
  assert.match(output, /labels: \*web-labels\n/, 'aliases are kept');
});

test('documents that are not injected come out byte for byte', () => {
  const passThrough = INPUT.replace('config.llm-dev-ops.io/inject: "true"', 'config.llm-dev-ops.io/inject: "false"');
  assert.equal(injectYaml(passThrough, 'input.yaml', context).output, passThrough);
  const { output } = injectYaml(INPUT, 'input.yaml', context);
  const firstDocument = INPUT.slice(0, INPUT.indexOf('---\n') + 4);
  assert.ok(output.startsWith(firstDocument));
  const lastDocuments = INPUT.slice(INPUT.indexOf('# A pod without'));
  assert.ok(output.endsWith(lastDocuments));
});

test('an edit that would go through an alias or a merge key is refused, naming the place', () => {
  const aliased = INPUT.replace(
    `      annotations:
        config.llm-dev-ops.io/inject: "true"
        config.llm-dev-ops.io/namespaces: ml-service`,
    '      annotations: *inject',
  ).replace(
    '  replicas: 2\n',
    '  replicas: 2\n  x-inject: &inject\n    config.llm-dev-ops.io/inject: "true"\n    config.llm-dev-ops.io/namespaces: ml-service\n',
  );
  assert.throws(
    () => injectYaml(aliased, 'input.yaml', context),
    (e: unknown) =>
      e instanceof InvalidSettingError &&
      e.value === 'spec.template.metadata.annotations.config.llm-dev-ops.io/status' &&
      /alias or merge key/.test(e.accepted),
  );
  const merged = INPUT.replace(
    '        - name: web   # the app\n          image: nginx:1.27\n',
    '        - <<: *base\n          name: web\n',
  ).replace('  replicas: 2\n', '  replicas: 2\n  x-base: &base\n    image: nginx:1.27\n    env: [{name: A, value: "1"}]\n');
  assert.throws(
    () => injectYaml(merged, 'input.yaml', context),
    (e: unknown) => e instanceof InvalidSettingError && e.value === 'spec.template.spec.containers.0.env.-',
  );
});

test('bad YAML and an alias to another document are refused with the document number', () => {
  assert.throws(
    () => injectYaml('a: 1\n---\nb: *nowhere\n', 'in.yaml', context),
    (e: unknown) => e instanceof InvalidSettingError && e.setting === '--file' && /document 2/.test(e.accepted),
  );
  assert.throws(
    () => injectYaml('a: [1\n', 'in.yaml', context),
    (e: unknown) => e instanceof InvalidSettingError && /document 1/.test(e.accepted),
  );
});
