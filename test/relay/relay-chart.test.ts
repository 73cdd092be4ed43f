// The chart with the relay (real Helm, as in test/chart): off by default; on, a
// Deployment with PDB and HPA, a Service, RBAC limited to tokenreviews, namespaces and
// its own state Secret, injected agents pointed at the relay Service, the webhook's
// admission check on, every object valid Kubernetes, and the args the programs parse.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions } from '../../src/options/define.ts';
import { relayOptionTable, validateRelayOptions } from '../../relay/relay-options.ts';
import { webhookCommand } from '../../webhook/webhook-command.ts';
import { helmHome, lintChart, objectProblems, renderChart, type K8sObject } from '../chart/chart-render.ts';

const { home, dispose } = helmHome();
after(dispose);
const CENTRAL = ['--set', 'agent.centralUrl=https://llm-config.example.internal'];

const named = (objects: readonly K8sObject[], kind: string, suffix: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
const argsOf = (deployment: K8sObject | undefined, container: string) =>
  deployment!.spec.template.spec.containers.find((c: { name: string }) => c.name === container).args as string[];
const relayObjects = (objects: readonly K8sObject[]) =>
  objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'relay');

async function renderValid(args: string[]): Promise<K8sObject[]> {
  const lint = await lintChart(home, args);
  assert.equal(lint.code, 0, lint.stdout + lint.stderr);
  const { result, objects } = await renderChart(home, args);
  assert.equal(result.code, 0, result.stderr);
  const problems = (await Promise.all(objects.map(objectProblems))).flat();
  assert.deepEqual(problems, []);
  return objects;
}

test('relay off by default: no relay object, agents read agent.centralUrl', async () => {
  const objects = await renderValid(CENTRAL);
  assert.deepEqual(relayObjects(objects), []);
  const webhook = argsOf(named(objects, 'Deployment', '-injector'), 'webhook');
  assert.ok(webhook.includes('--central-url=https://llm-config.example.internal'));
  assert.ok(!webhook.some((a) => a.startsWith('--relay')));
});

test('relay on: deployment, service, PDB, HPA, minimal RBAC and state Secret; agents and webhook point at it', async () => {
  const objects = await renderValid([
    ...CENTRAL,
    '--set',
    'relay.enabled=true',
    '--set',
    'relay.preload.namespaces=ml-service\\,team/ml',
    '--set',
    'relay.defaultAllowed=shared/*',
  ]);
  const kinds = relayObjects(objects)
    .map((o) => o.kind)
    .sort();
  assert.deepEqual(kinds, [
    'ClusterRole',
    'ClusterRoleBinding',
    'Deployment',
    'HorizontalPodAutoscaler',
    'PodDisruptionBudget',
    'Role',
    'RoleBinding',
    'Secret',
    'Service',
    'ServiceAccount',
  ]);
  const deployment = named(objects, 'Deployment', '-relay')!;
  assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
  const hpa = named(objects, 'HorizontalPodAutoscaler', '-relay')!;
  assert.ok(hpa.spec.minReplicas >= 2);
  assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
  const relayArgs = argsOf(deployment, 'relay');
  assert.equal(relayArgs[0], 'relay');
  const options = parseOptions(relayOptionTable, relayArgs.slice(1), {});
  validateRelayOptions(options);
  assert.equal(options.centralUrl.href, 'https://llm-config.example.internal/');
  assert.equal(options.auth, 'kubernetes');
  assert.equal(options.stateSecret, 'llm-config-llm-config-injector-relay-state');
  assert.deepEqual(options.namespaces.flat(), ['ml-service', 'team/ml']);
  assert.equal(options.defaultAllowed.text, 'shared/*');

  const service = named(objects, 'Service', '-relay')!;
  const webhook = argsOf(named(objects, 'Deployment', '-injector'), 'webhook');
  assert.ok(webhook.includes(`--central-url=http://${service.metadata.name}.llm-config.svc:8080`), webhook.join(' '));
  const webhookOptions = parseOptions(webhookCommand.options, webhook.slice(1), {});
  assert.equal(webhookOptions.relayAuthorization, true);
  assert.equal(webhookOptions.relayDefaultAllowed.text, 'shared/*');
  // No webhook selector may pick relay pods (and the other way round).
  const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
  for (const o of objects.filter((x) => x.spec?.selector && !relayObjects(objects).includes(x))) {
    const selector = (o.spec.selector.matchLabels ?? o.spec.selector) as Record<string, string>;
    assert.ok(!Object.entries(selector).every(([k, v]) => podLabels[k] === v), `${o.kind}/${o.metadata.name} selects relay pods`);
  }
  const clusterRole = named(objects, 'ClusterRole', '-relay')!;
  assert.deepEqual(clusterRole.rules, [
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  ]);
  const role = named(objects, 'Role', '-relay')!;
  assert.deepEqual(role.rules, [
    { apiGroups: [''], resources: ['secrets'], resourceNames: ['llm-config-llm-config-injector-relay-state'], verbs: ['get', 'update'] },
  ]);
});

test('relay with --auth none and no state Secret: no API access at all', async () => {
  const objects = await renderValid([
    ...CENTRAL,
    '--set',
    'relay.enabled=true',
    '--set',
    'relay.auth=none',
    '--set',
    'relay.stateSecret.enabled=false',
    '--set',
    'relay.autoscaling.enabled=false',
  ]);
  assert.deepEqual(
    relayObjects(objects)
      .map((o) => o.kind)
      .sort(),
    ['Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount'],
  );
  const deployment = named(objects, 'Deployment', '-relay')!;
  assert.equal(deployment.spec.replicas, 2);
  assert.equal(deployment.spec.template.spec.automountServiceAccountToken, false);
  assert.ok(!argsOf(named(objects, 'Deployment', '-injector'), 'webhook').includes('--relay-authorization'));
});

test('relay network policies: only the relay reaches an in-cluster upstream; app namespaces kept from an outside one', async () => {
  const objects = await renderValid([
    ...CENTRAL,
    '--set',
    'relay.enabled=true',
    '--set',
    'relay.networkPolicy.enabled=true',
    '--set',
    'relay.networkPolicy.upstream.namespace=central',
    '--set',
    'relay.networkPolicy.upstream.podSelector.matchLabels.app=llm-config-server',
    '--set',
    'relay.networkPolicy.upstream.port=8080',
    '--set',
    'relay.networkPolicy.appNamespaces={team-a,team-b}',
    '--set',
    'relay.networkPolicy.upstreamCidrs={203.0.113.10/32}',
  ]);
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name.includes('-relay'));
  assert.deepEqual(policies.map((p) => p.metadata.namespace).sort(), ['central', 'team-a', 'team-b']);
  const upstream = policies.find((p) => p.metadata.namespace === 'central')!;
  assert.deepEqual(upstream.spec.podSelector, { matchLabels: { app: 'llm-config-server' } });
  assert.equal(upstream.spec.ingress[0].from[0].podSelector.matchLabels['app.kubernetes.io/name'], 'llm-config-injector-relay');
  const app = policies.find((p) => p.metadata.namespace === 'team-a')!;
  assert.deepEqual(app.spec.egress[0].to[0].ipBlock.except, ['203.0.113.10/32']);
});

test('bad relay values are refused with what is accepted', async () => {
  for (const [args, message] of [
    [['--set', 'relay.auth=oidc'], /relay\/auth|relay.auth|auth/],
    [['--set', 'relay.defaultAllowed=te*m'], /defaultAllowed/],
    [['--set', 'relay.upstreamRps=0'], /upstreamRps/],
    [['--set', 'relay.networkPolicy.enabled=true'], /relay.networkPolicy: set upstream.namespace/],
    [['--set', 'relay.networkPolicy.enabled=true', '--set', 'relay.networkPolicy.appNamespaces={a}'], /needs upstreamCidrs/],
  ] as const) {
    const { result } = await renderChart(home, [...CENTRAL, '--set', 'relay.enabled=true', ...args]);
    assert.notEqual(result.code, 0, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
  }
  const { result } = await renderChart(home, ['--set', 'relay.enabled=true']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /relay.centralUrl \(or agent.centralUrl\) is required|agent.centralUrl is required/);
});
