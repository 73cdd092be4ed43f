// The Helm chart, checked without a Helm binary: values against values.schema.json,
// every template parsed as YAML with its template expressions set aside, current API
// versions only, and the ports, paths and flags the templates write compared with the
// programs' own code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
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

/** Template expressions set aside: lines that are only an action go, inline actions become a scalar. */
function stripTemplate(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*\{\{-?[\s\S]*?-?\}\}\s*$/.test(line))
    .map((line) => line.replace(/\{\{-?[\s\S]*?-?\}\}/g, 'x'))
    .join('\n');
}

const SERVED_API_VERSIONS = new Set([
  'v1',
  'apps/v1',
  'policy/v1',
  'admissionregistration.k8s.io/v1',
  'rbac.authorization.k8s.io/v1',
  'networking.k8s.io/v1',
  'cert-manager.io/v1',
  'monitoring.coreos.com/v1',
]);
const templateFiles = readdirSync(TEMPLATES).filter((f) => f.endsWith('.yaml'));

test('every template parses as YAML once its expressions are set aside, and names only current API versions', () => {
  assert.ok(templateFiles.length >= 8);
  for (const file of templateFiles) {
    const documents = parseAllDocuments(stripTemplate(readFileSync(join(TEMPLATES, file), 'utf8')));
    for (const document of Array.isArray(documents) ? documents : [documents]) {
      assert.deepEqual(
        document.errors.map((e) => e.message),
        [],
        file,
      );
      const object = document.toJS() as { apiVersion?: string; kind?: string } | null;
      if (object === null) continue;
      assert.ok(SERVED_API_VERSIONS.has(object.apiVersion!), `${file}: apiVersion ${object.apiVersion}`);
      assert.match(object.kind ?? '', /^[A-Z]/, file);
    }
  }
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
  const written = [...deployment.matchAll(/^\s+- --([a-z-]+)/gm)].map((m) => m[1]!);
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
