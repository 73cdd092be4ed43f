// With the relay in use (webhook --relay-authorization), admission refuses a pod whose
// `namespaces` annotation its Kubernetes namespace does not allow, with the same rule
// and globs as the relay — the error appears at `kubectl apply`, not at run time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mutate, type MutateContext } from '../../webhook/mutate.ts';
import { parseOptions } from '../../src/options/define.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from '../../webhook/webhook-options.ts';
import { parseNamespaceGlobs } from '../../src/access/namespace-globs.ts';

const options = parseOptions(injectionOptionTable, ['--central-url', 'http://relay:8080'], {});
const A = (name: string) => `config.llm-dev-ops.io/${name}`;

function context(namespaceAnnotations: Record<string, string>, relay: MutateContext['relay']): MutateContext {
  return {
    defaults: injectionDefaults(options),
    settings: injectorSettings(options),
    namespaceAnnotations: () => namespaceAnnotations,
    relay,
  };
}

function review(namespaces: string, kind = 'Pod') {
  const pod = {
    metadata: { name: 'p', annotations: { [A('inject')]: 'true', [A('namespaces')]: namespaces } },
    spec: { containers: [{ name: 'app', image: 'app' }] },
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-1',
      kind: { group: kind === 'Pod' ? '' : 'apps', version: 'v1', kind },
      operation: 'CREATE',
      namespace: 'team-a',
      object: kind === 'Pod' ? pod : { metadata: { name: 'd' }, spec: { template: pod } },
    },
  };
}

const relay = { defaultAllowed: parseNamespaceGlobs('-') };
const allowed = { [A('allowed-namespaces')]: 'ml-service,team/*' };

test('relay in use: a namespace the Kubernetes namespace allows is injected; another is refused naming both', () => {
  assert.equal(mutate(review('ml-service,team/ml'), context(allowed, relay)).response.allowed, true);
  const refused = mutate(review('ml-service,billing'), context(allowed, relay)).response;
  assert.equal(refused.allowed, false);
  assert.equal(
    refused.status?.message,
    'config.llm-dev-ops.io/namespaces=ml-service,billing: namespace "billing" is not readable by pods of namespace team-a through the relay ' +
      '(allowed: ml-service,team/*, from annotation config.llm-dev-ops.io/allowed-namespaces of namespace team-a)',
  );
});

test('relay in use: the default applies without the annotation; a broken annotation allows nothing', () => {
  const none = mutate(review('ml-service'), context({}, relay)).response;
  assert.equal(none.allowed, false);
  assert.match(none.status!.message, /allowed: -, from the relay default \(--default-allowed\)/);
  assert.equal(mutate(review('ml-service'), context({}, { defaultAllowed: parseNamespaceGlobs('*') })).response.allowed, true);
  const broken = mutate(review('ml-service'), context({ [A('allowed-namespaces')]: 'ml*' }, relay)).response;
  assert.equal(broken.allowed, false);
  assert.match(broken.status!.message, /invalid, so nothing/);
});

test('relay in use: a Deployment template is judged the same way at apply time', () => {
  const response = mutate(review('billing', 'Deployment'), context(allowed, relay)).response;
  assert.equal(response.allowed, false);
  assert.match(response.status!.message, /"billing"/);
});

test('relay not in use: namespaces are not checked, and the allowed-namespaces annotation is not an unknown annotation', () => {
  assert.equal(mutate(review('billing'), context(allowed, undefined)).response.allowed, true);
});
