// The Helm chart's values and templates against the programs' own code, without a Helm
// binary: values.yaml against values.schema.json, and the ports, paths, flags and
// defaults the templates write. Rendering with the real Helm, Kubernetes schema checks
// and wrong values refused by Helm itself are in test/chart/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { flagName } from '../../src/options/define.ts';
import { webhookCommand } from '../../webhook/webhook-command.ts';
import { ROUTES } from '../../webhook/admission-handler.ts';
import { injectionOptionTable } from '../../webhook/webhook-options.ts';
import { listenAddress } from '../../src/options/parsers.ts';

const CHART = join(import.meta.dirname, '..', '..', 'charts', 'llm-config-injector');
const TEMPLATES = join(CHART, 'templates');
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, any>;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

const withChange = (path: string, value: unknown) => {
  const copy = structuredClone(values);
  const keys = path.split('.');
  let target = copy;
  for (const key of keys.slice(0, -1)) target = target[key];
  if (value === undefined) delete target[keys.at(-1)!];
  else target[keys.at(-1)!] = value;
  return copy;
};

test('values.yaml validates against values.schema.json', () => {
  assert.equal(validate(values), true, JSON.stringify(validate.errors));
});

test('a table of wrong values is rejected by the schema', () => {
  const wrong: Array<[string, unknown]> = [
    ['replicaCount', 0],
    ['replicaCount', 'two'],
    ['webhook.failurePolicy', 'Sometimes'],
    ['webhook.port', 80],
    ['webhook.timeoutSeconds', 60],
    ['webhook.reinvocationPolicy', 'Always'],
    ['tls.mode', 'manual'],
    ['agent.syncMode', 'push'],
    ['agent.pollInterval', 'soon'],
    ['agent.environment', 'qa'],
    ['agent.centralUrl', 'ftp://x'],
    ['agent.resources.requests.cpu', 'lots'],
    ['agent.centralHeaders', ['no colon']],
    ['agent.mountPath', 'relative'],
    ['image.pullPolicy', 'Sometimes'],
    ['logLevel', 'loud'],
    ['unknownTopLevel', true],
    ['agent.colour', 'red'],
    ['agent.image', undefined],
  ];
  for (const [path, value] of wrong)
    assert.equal(validate(withChange(path, value)), false, `${path}=${JSON.stringify(value)} should be refused`);
});

test("the port, paths and flags in the templates are the programs' own", () => {
  const deployment = readFileSync(join(TEMPLATES, 'deployment.yaml'), 'utf8');
  const mwc = readFileSync(join(TEMPLATES, 'mutatingwebhookconfiguration.yaml'), 'utf8');
  const defaultPort = listenAddress.parse(webhookCommand.options.addr.defaultText!).port;
  assert.equal(values.webhook.port, defaultPort, "values.webhook.port is the webhook's default --addr port");
  assert.match(mwc, new RegExp(`path: ${ROUTES.mutate}\\n`));
  assert.match(deployment, new RegExp(`path: ${ROUTES.ready}\\n`));
  assert.match(deployment, new RegExp(`path: ${ROUTES.health}\\n`));
  const known = new Set(Object.keys(webhookCommand.options).flatMap((key) => [flagName(key), `no-${flagName(key)}`]));
  // Plain (`- --flag`) or quoted through printf (`- {{ printf "--flag=%s" … | quote }}`).
  const written = [...deployment.matchAll(/^\s+- (?:\{\{ printf ")?--([a-z-]+)/gm)].map((m) => m[1]!);
  assert.ok(written.length > 15);
  for (const flag of written) assert.ok(known.has(flag), `--${flag} is not a flag of llm-config webhook`);
  assert.match(deployment, /^\s+- webhook$/m, 'the container runs the webhook command');
});

test("the chart's agent defaults are the webhook's own defaults", () => {
  const defaults = (key: keyof typeof injectionOptionTable) => injectionOptionTable[key].defaultText;
  assert.equal(values.agent.resources.requests.cpu, defaults('cpuRequest'));
  assert.equal(values.agent.resources.limits.cpu, defaults('cpuLimit'));
  assert.equal(values.agent.resources.requests.memory, defaults('memoryRequest'));
  assert.equal(values.agent.resources.limits.memory, defaults('memoryLimit'));
  assert.equal(values.agent.pollInterval, defaults('pollInterval'));
  assert.equal(values.agent.syncMode, defaults('syncMode'));
  assert.equal(values.agent.mountPath, defaults('mountPath'));
  assert.equal(values.agent.tokenAudience, defaults('tokenAudience'));
  assert.equal(String(values.agent.nativeSidecar), defaults('nativeSidecar'));
});
