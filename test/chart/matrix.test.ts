// The chart over every documented value combination, with the real Helm 4: each case
// passes `helm lint --strict`, renders with `helm template`, every object passes the
// Kubernetes schemas with no unknown field, and the webhook's args parse with the
// program's own option table. Cases add their own assertions.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseOptions } from '../../src/options/define.ts';
import { webhookCommand } from '../../webhook/webhook-command.ts';
import { generateTlsMaterial } from '../../webhook/tls-material.ts';
import { relayOptionTable, validateRelayOptions } from '../../relay/relay-options.ts';
import { NEW_RELAY_FLAGS } from './relay-values.ts';
import { IMAGE_CLI, SERVICE_NODE_FLAGS } from '../helpers/cli-process.ts';
import {
  CHART,
  find,
  helmHome,
  lintChart,
  objectProblems,
  pool,
  renderChart,
  renderNotes,
  type K8sObject,
  type Rendered,
} from './chart-render.ts';

const { home, dispose } = helmHome();
after(dispose);
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, any>;
const CENTRAL = ['--set', 'agent.centralUrl=https://llm-config.example.internal'];

/** Values as a file: the only way to pass nested lists and maps exactly as YAML users write them. */
let fileCount = 0;
function valuesFile(content: Record<string, unknown>): string[] {
  const path = join(home, `values-${++fileCount}.yaml`);
  writeFileSync(path, stringify(content));
  return ['-f', path];
}

/** The strings YAML reads as something else when not quoted. */
const HOSTILE = ['X-Forwarded-Proto: https', 'X-Note: a #comment', 'X-Quote: "double" and \'single\'', 'X-Star: *anchor', 'X-Map: {}'];

/** The webhook container's args (the relay, when on, is another Deployment). */
const webhookArgs = (objects: readonly K8sObject[]) =>
  objects
    .filter((o) => o.kind === 'Deployment')
    .flatMap((o) => o.spec.template.spec.containers as Array<{ name: string; args: string[] }>)
    .find((c) => c.name === 'webhook')!.args;

/**
 * Every container of the chart's own Deployments (webhook, relay) runs the image's CLI
 * with the service flags, not the ENTRYPOINT's sidecar flags, and the main image warms
 * its compile cache for exactly these (test/unit/image-settings.test.ts).
 */
function assertServiceCommands(objects: readonly K8sObject[]): void {
  const containers = objects
    .filter((o) => o.kind === 'Deployment')
    .flatMap((o) => o.spec.template.spec.containers as Array<{ name: string; command?: string[] }>);
  assert.ok(containers.length > 0);
  for (const c of containers) assert.deepEqual(c.command, ['node', ...SERVICE_NODE_FLAGS, IMAGE_CLI], `container ${c.name}`);
}

type Case = { name: string; args: string[]; release?: string; check?: (r: Rendered) => void | Promise<void> };

const caBundle = Buffer.from((await generateTlsMaterial({ commonName: 'byo', dnsNames: ['x'], validityDays: 2 })).caPem).toString('base64');

const cases: Case[] = [
  {
    name: 'defaults (tls.mode helm)',
    args: CENTRAL,
    check: ({ objects }) => {
      const secret = find(objects, 'Secret', 'llm-config-llm-config-injector-tls')!;
      const mwc = find(objects, 'MutatingWebhookConfiguration')!;
      assert.equal(mwc.webhooks[0].clientConfig.caBundle, secret.data['ca.crt']);
      const pdb = find(objects, 'PodDisruptionBudget')!;
      assert.deepEqual([pdb.spec.maxUnavailable, pdb.spec.minAvailable], [1, undefined], 'maxUnavailable: 1 by default');
    },
  },
  {
    name: "the docs' install command (release llm-config-injector: names without repetition)",
    release: 'llm-config-injector',
    args: [...CENTRAL, '--set', 'agent.environment=production', '--set', 'agent.centralHeaders[0]=X-Forwarded-Proto: https'],
    check: ({ objects }) => {
      for (const object of objects) assert.match(object.metadata.name, /^llm-config-injector(-tls)?$/, `${object.kind} name`);
      assert.ok(webhookArgs(objects).includes('--central-header=X-Forwarded-Proto: https'));
    },
  },
  {
    // 45 characters: `-relay` must survive the 63-character cut (names-and-paths.test.ts checks uniqueness)
    name: 'a 45-character release name with the relay',
    release: `r${'x'.repeat(44)}`,
    args: [...CENTRAL, '--set', 'relay.enabled=true'],
    check: ({ objects }) => {
      const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      assert.equal(new Set(keys).size, keys.length, 'no two objects share a kind and name');
    },
  },
  {
    name: 'a release name containing the chart name, and fullnameOverride',
    release: 'prod-llm-config-injector',
    args: [...CENTRAL, '--set', 'fullnameOverride=injector'],
    check: ({ objects }) => {
      assert.equal(find(objects, 'Deployment')!.metadata.name, 'injector');
      assert.equal(find(objects, 'MutatingWebhookConfiguration')!.webhooks[0].clientConfig.service.name, 'injector');
    },
  },
  {
    name: 'hostile strings are quoted and arrive unchanged',
    args: [
      ...CENTRAL,
      ...valuesFile({
        agent: { centralHeaders: HOSTILE, tokenAudience: '*aud: x #y', mountPath: '/etc/a: b #c' },
        vault: { authPath: '{}', tokenAudience: 'it\'s "quoted"' },
        podAnnotations: { 'example.com/note': 'a: b', 'example.com/star': '*x', 'example.com/map': '{}', 'example.com/hash': '#c' },
        service: { annotations: { 'example.com/q': '"q"' } },
        serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' } },
        extraEnv: [{ name: 'NOTE', value: '*not: an alias #' }],
        priorityClassName: '*p',
      }),
    ],
    check: ({ objects }) => {
      const args = webhookArgs(objects);
      for (const header of HOSTILE) assert.ok(args.includes(`--central-header=${header}`), header);
      assert.ok(args.includes('--token-audience=*aud: x #y'));
      assert.ok(args.includes('--vault-auth-path={}'));
      assert.ok(args.includes(`--vault-token-audience=it's "quoted"`));
      const pod = find(objects, 'Deployment')!.spec.template;
      assert.equal(pod.metadata.annotations['example.com/note'], 'a: b');
      assert.equal(pod.metadata.annotations['example.com/map'], '{}');
      assert.equal(pod.spec.containers[0].env[0].value, '*not: an alias #');
      assert.equal(find(objects, 'Service')!.metadata.annotations!['example.com/q'], '"q"');
      const parsed = parseOptions(webhookCommand.options, args.slice(1), {});
      assert.deepEqual(
        parsed.centralHeader.map(([name, value]) => `${name}: ${value}`),
        HOSTILE.map((h) => h.replace(/:\s*/, ': ')),
      );
    },
  },
  {
    name: 'tls.mode cert-manager with its own CA issuer',
    args: [...CENTRAL, '--set', 'tls.mode=cert-manager'],
    check: ({ objects }) => {
      assert.equal(objects.filter((o) => o.kind === 'Issuer').length, 2);
      assert.equal(
        find(objects, 'MutatingWebhookConfiguration')!.metadata.annotations!['cert-manager.io/inject-ca-from'],
        'llm-config/llm-config-llm-config-injector-serving',
      );
    },
  },
  {
    name: 'tls.mode cert-manager with a ClusterIssuer',
    args: [
      ...CENTRAL,
      '--set',
      'tls.mode=cert-manager',
      '--set',
      'tls.certManager.issuerRef.name=corp-ca',
      '--set',
      'tls.certManager.issuerRef.kind=ClusterIssuer',
    ],
    check: ({ objects }) => {
      assert.equal(objects.filter((o) => o.kind === 'Issuer').length, 0);
      assert.deepEqual(find(objects, 'Certificate')!.spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer' });
    },
  },
  {
    name: 'tls.mode self-managed (Secret and Lease RBAC, no Secret rendered)',
    args: [...CENTRAL, '--set', 'tls.mode=self-managed'],
    check: ({ objects }) => {
      assert.equal(find(objects, 'Secret'), undefined);
      assert.equal(find(objects, 'MutatingWebhookConfiguration')!.webhooks[0].clientConfig.caBundle, undefined);
      const role = find(objects, 'Role')!;
      const names = role.rules.flatMap((r: { resourceNames?: string[] }) => r.resourceNames ?? []);
      assert.ok(names.includes('llm-config-llm-config-injector-self-managed-tls'));
      const args = webhookArgs(objects);
      assert.ok(args.includes('--tls-mode=self-managed'));
    },
  },
  {
    name: 'tls.mode existing-secret (bring your own certificate)',
    args: [
      ...CENTRAL,
      '--set',
      'tls.mode=existing-secret',
      '--set',
      'tls.existingSecret=my-webhook-tls',
      '--set',
      `tls.caBundle=${caBundle}`,
    ],
    check: ({ objects }) => {
      assert.equal(find(objects, 'Secret'), undefined, 'the Secret is yours');
      const mwc = find(objects, 'MutatingWebhookConfiguration')!;
      for (const webhook of mwc.webhooks) assert.equal(webhook.clientConfig.caBundle, caBundle);
      assert.equal(find(objects, 'Deployment')!.spec.template.spec.volumes[0].secret.secretName, 'my-webhook-tls');
    },
  },
  {
    name: 'existing-secret with a ServiceMonitor verifies with the given CA',
    args: [
      ...CENTRAL,
      ...['--set', 'tls.mode=existing-secret', '--set', 'tls.existingSecret=my-webhook-tls', '--set', `tls.caBundle=${caBundle}`],
      ...['--set', 'serviceMonitor.enabled=true'],
    ],
    check: ({ objects }) => {
      const configMap = find(objects, 'ConfigMap', 'llm-config-llm-config-injector-ca')!;
      assert.match(configMap.data['ca.crt'], /BEGIN CERTIFICATE/);
      assert.deepEqual(find(objects, 'ServiceMonitor')!.spec.endpoints[0].tlsConfig.ca, {
        configMap: { name: 'llm-config-llm-config-injector-ca', key: 'ca.crt' },
      });
    },
  },
  {
    name: 'NetworkPolicy with API server CIDRs, ServiceMonitor and its own metrics rule',
    args: [
      ...CENTRAL,
      ...valuesFile({
        serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus' } },
        networkPolicy: {
          enabled: true,
          apiServerCidrs: ['10.0.0.0/8', 'fd00::/8'],
          metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        },
      }),
    ],
    check: ({ objects }) => {
      const policy = find(objects, 'NetworkPolicy')!;
      assert.equal(policy.spec.ingress.length, 2);
      assert.deepEqual(
        policy.spec.ingress[0].from.map((p: { ipBlock: { cidr: string } }) => p.ipBlock.cidr),
        ['10.0.0.0/8', 'fd00::/8'],
      );
      assert.deepEqual(policy.spec.ingress[1].from[0].namespaceSelector.matchLabels, { 'kubernetes.io/metadata.name': 'monitoring' });
      assert.equal(find(objects, 'ServiceMonitor')!.metadata.labels!.release, 'kube-prometheus');
    },
  },
  {
    name: 'NetworkPolicy without CIDRs admits any source to the webhook port',
    args: [...CENTRAL, '--set', 'networkPolicy.enabled=true'],
    check: ({ objects }) => {
      const policy = find(objects, 'NetworkPolicy')!;
      assert.equal(policy.spec.ingress.length, 1);
      assert.equal(policy.spec.ingress[0].from, undefined);
    },
  },
  {
    name: 'one replica: the PDB still allows a drain',
    args: [...CENTRAL, '--set', 'replicaCount=1'],
    check: ({ objects }) => {
      assert.equal(find(objects, 'Deployment')!.spec.replicas, 1);
      assert.equal(find(objects, 'PodDisruptionBudget')!.spec.maxUnavailable, 1);
    },
  },
  {
    name: 'PDB disabled',
    args: [...CENTRAL, '--set', 'podDisruptionBudget.enabled=false'],
    check: ({ objects }) => assert.equal(find(objects, 'PodDisruptionBudget'), undefined),
  },
  {
    name: 'PDB with minAvailable below the replicas',
    args: [
      ...CENTRAL,
      '--set',
      'replicaCount=3',
      '--set',
      'podDisruptionBudget.maxUnavailable=null',
      '--set',
      'podDisruptionBudget.minAvailable=2',
    ],
    check: ({ objects }) => assert.deepEqual(find(objects, 'PodDisruptionBudget')!.spec.minAvailable, 2),
  },
  {
    name: 'PrometheusRule and Grafana dashboard with a ServiceMonitor',
    args: [
      ...CENTRAL,
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'prometheusRule.enabled=true',
      '--set',
      'grafanaDashboard.enabled=true',
    ],
    check: ({ objects }) => {
      const rules = find(objects, 'PrometheusRule')!.spec.groups.flatMap((g: { rules: unknown[] }) => g.rules);
      assert.ok(rules.length >= 7);
      const dashboard = JSON.parse(find(objects, 'ConfigMap', 'llm-config-llm-config-injector-dashboard')!.data['llm-config.json']);
      assert.ok(dashboard.panels.length >= 8);
    },
  },
  {
    name: 'hostNetwork with its own port',
    args: [...CENTRAL, '--set', 'hostNetwork.enabled=true', '--set', 'hostNetwork.port=10443', '--set', 'networkPolicy.enabled=true'],
    check: ({ objects }) => {
      const spec = find(objects, 'Deployment')!.spec.template.spec;
      assert.equal(spec.hostNetwork, true);
      assert.equal(spec.dnsPolicy, 'ClusterFirstWithHostNet');
      assert.deepEqual(spec.containers[0].ports[0], { name: 'https', containerPort: 10443, hostPort: 10443, protocol: 'TCP' });
      assert.ok(webhookArgs(objects).includes('--addr=0.0.0.0:10443'));
      assert.equal(find(objects, 'NetworkPolicy')!.spec.ingress[0].ports[0].port, 10443);
    },
  },
  {
    name: "vault-helm's injector options: selectors, scheduling, labels, annotations, env, strategy, probes",
    args: [
      ...CENTRAL,
      ...valuesFile({
        commonLabels: { team: 'platform' },
        podLabels: { 'example.com/tier': 'infra' },
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['infra'] }] }],
            },
          },
        },
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'topology.kubernetes.io/zone',
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'llm-config-injector' } },
          },
        ],
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }],
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        imagePullSecrets: [{ name: 'registry' }],
        priorityClassName: 'system-cluster-critical',
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        probes: { readiness: { periodSeconds: 3, failureThreshold: 2 }, liveness: { periodSeconds: 20, timeoutSeconds: 5 } },
        extraEnv: [
          { name: 'NODE_OPTIONS', value: '--max-old-space-size=128' },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
        webhook: {
          excludeNamespaces: ['batch'],
          namespaceSelectorExpressions: [{ key: 'llm-config/injection', operator: 'In', values: ['enabled'] }],
          objectSelector: { matchLabels: { 'llm-config/inject': 'true' }, matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] },
        },
      }),
    ],
    check: ({ objects }) => {
      for (const object of objects) assert.equal(object.metadata.labels?.team, 'platform', `${object.kind} has the common label`);
      const deployment = find(objects, 'Deployment')!;
      const spec = deployment.spec.template.spec;
      assert.equal(deployment.spec.template.metadata.labels['example.com/tier'], 'infra');
      assert.ok(spec.affinity.nodeAffinity && !spec.affinity.podAntiAffinity, 'affinity replaces the default');
      assert.equal(spec.topologySpreadConstraints.length, 1);
      assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
      assert.equal(spec.containers[0].readinessProbe.periodSeconds, 3);
      assert.equal(spec.containers[0].livenessProbe.timeoutSeconds, 5);
      assert.equal(spec.containers[0].env[1].valueFrom.fieldRef.fieldPath, 'metadata.name');
      for (const webhook of find(objects, 'MutatingWebhookConfiguration')!.webhooks) {
        assert.deepEqual(webhook.objectSelector.matchLabels, { 'llm-config/inject': 'true' });
        assert.equal(webhook.objectSelector.matchExpressions.length, 2, "the injector's own pods stay excluded");
        assert.ok(webhook.namespaceSelector.matchExpressions[0].values.includes('batch'));
        assert.equal(webhook.namespaceSelector.matchExpressions[1].key, 'llm-config/injection');
      }
    },
  },
  {
    name: 'poll mode, Vault, namespaces, no native sidecar, no namespace defaults (no cluster RBAC)',
    args: [
      ...CENTRAL,
      ...['--set', 'agent.syncMode=poll', '--set', 'agent.pollInterval=1m', '--set', 'agent.namespaces=ml-service\\,team/shared'],
      ...[
        '--set',
        'agent.nativeSidecar=false',
        '--set',
        'vault.address=https://vault.example:8200',
        '--set',
        'webhook.namespaceDefaults=false',
      ],
      ...['--set', 'webhook.failurePolicy=Fail', '--set', 'logLevel=debug'],
    ],
    check: async ({ objects }) => {
      assert.equal(find(objects, 'ClusterRole'), undefined);
      assert.equal(find(objects, 'Deployment')!.spec.template.spec.automountServiceAccountToken, false);
      const parsed = parseOptions(webhookCommand.options, webhookArgs(objects).slice(1), {});
      assert.equal(parsed.syncMode, 'poll');
      assert.deepEqual(parsed.namespaces, ['ml-service', 'team/shared']);
      assert.equal(parsed.nativeSidecar, false);
      assert.equal(parsed.namespaceDefaults, false);
      assert.match(
        await renderNotes(home, ['--set', 'webhook.failurePolicy=Fail', ...CENTRAL]),
        /pod creation in selected namespaces is refused/,
      );
    },
  },
];

if (values.relay !== undefined)
  cases.push({
    name: 'the relay on, with hostile headers',
    args: [...CENTRAL, '--set', 'relay.enabled=true', ...valuesFile({ relay: { centralHeaders: HOSTILE } })],
    check: ({ objects }) => {
      const relayArgs = objects
        .filter((o) => o.kind === 'Deployment')
        .flatMap((o) => o.spec.template.spec.containers.flatMap((c: { args?: string[] }) => c.args ?? []));
      for (const header of HOSTILE) assert.ok(relayArgs.includes(`--central-header=${header}`), header);
    },
  });

/** The relay container's args. */
const relayArgs = (objects: readonly K8sObject[]) =>
  (find(objects, 'Deployment', 'llm-config-llm-config-injector-relay')!.spec.template.spec.containers as Array<{ args: string[] }>)[0]!
    .args;

// Every relay value the chart has, with hostile text wherever a value is free text: each
// arg is one quoted list item, keys of Secrets and ConfigMaps land under fixed file names,
// and the whole list parses with the relay's own option table.
const RELAY_HEADERS = [...HOSTILE, 'X-Dash: --auth=none', 'X-Lines: a\\nb'];
cases.push({
  name: 'the relay with every value set (exact args)',
  args: [
    ...CENTRAL,
    ...valuesFile({
      relay: {
        enabled: true,
        centralUrl: 'https://upstream.example/base',
        centralHeaders: RELAY_HEADERS,
        upstreamTokenSecret: 'upstream-token',
        pollInterval: '7s',
        upstreamRps: 9,
        idleTimeout: '1h30m',
        maxNamespaces: 3000,
        preload: { namespaces: 'ml-service,team/shared', environments: 'production,staging' },
        auth: 'kubernetes',
        defaultAllowed: 'team/*, shared',
        syncMode: 'poll',
        requestTimeout: '2500ms',
        resyncInterval: '5m',
        heartbeatTimeout: '30s',
        backoffBase: '500ms',
        backoffMax: '2m',
        maxResponseBytes: 1073741824,
        ca: { configMap: 'upstream-ca', key: '--ca-file' },
        clientCertSecret: 'upstream-mtls',
        maxNamespacesPerClient: 100000,
        tokenReviewRps: 10000,
        tokenReviewTimeout: '1.5s',
        pingInterval: '10ms',
        shutdownTimeout: '25s',
        terminationGracePeriodSeconds: 30,
        stateKey: { secretName: 'relay-state-key', key: '--state-dir' },
      },
    }),
  ],
  check: ({ objects }) => {
    const args = relayArgs(objects);
    assert.deepEqual(args, [
      'relay',
      '--addr=0.0.0.0:8080',
      '--admin-addr=0.0.0.0:9102',
      '--central-url=https://upstream.example/base',
      ...RELAY_HEADERS.map((h) => `--central-header=${h}`),
      '--sync-mode=poll',
      '--request-timeout=2500ms',
      '--resync-interval=5m',
      '--heartbeat-timeout=30s',
      '--backoff-base=500ms',
      '--backoff-max=2m',
      '--max-response-bytes=1073741824',
      '--ca-file=/var/run/secrets/llm-config-relay/ca/ca.crt',
      '--client-cert=/var/run/secrets/llm-config-relay/client/tls.crt',
      '--client-key=/var/run/secrets/llm-config-relay/client/tls.key',
      '--poll-interval=7s',
      '--upstream-rps=9',
      '--idle-timeout=1h30m',
      '--max-namespaces=3000',
      '--max-namespaces-per-client=100000',
      '--namespaces=ml-service,team/shared',
      '--environment=production,staging',
      '--auth=kubernetes',
      '--token-audience=llm-config',
      '--token-review-timeout=1.5s',
      '--token-review-rps=10000',
      '--default-allowed=team/*, shared',
      '--ping-interval=10ms',
      '--state-dir=/var/lib/llm-config-relay',
      '--state-secret=llm-config-llm-config-injector-relay-state',
      '--state-key-file=/var/run/secrets/llm-config-relay/state-key/state.key',
      '--token-file=/var/run/secrets/llm-config-relay/upstream/token',
      '--shutdown-timeout=25s',
      '--log-level=info',
    ]);
    const parsed = parseOptions(relayOptionTable, args.slice(1), {});
    validateRelayOptions(parsed);
    assert.equal(parsed.auth, 'kubernetes', 'a header saying --auth=none stays a header');
    assert.equal(parsed.centralHeader.length, RELAY_HEADERS.length);
    assert.deepEqual(
      [parsed.requestTimeout, parsed.tokenReviewTimeout, parsed.pingInterval, parsed.shutdownTimeout, parsed.backoffMax],
      [2500, 1500, 10, 25_000, 120_000],
    );
    const pod = find(objects, 'Deployment', 'llm-config-llm-config-injector-relay')!.spec.template.spec;
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    const mounts = Object.fromEntries(pod.containers[0].volumeMounts.map((m: any) => [m.name, m]));
    for (const name of ['upstream-ca', 'upstream-client', 'state-key', 'upstream-token']) assert.equal(mounts[name].readOnly, true, name);
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    assert.deepEqual(volumes['upstream-ca'].configMap, { name: 'upstream-ca', items: [{ key: '--ca-file', path: 'ca.crt' }] });
    assert.deepEqual(volumes['state-key'].secret, {
      secretName: 'relay-state-key',
      defaultMode: 0o440,
      items: [{ key: '--state-dir', path: 'state.key' }],
    });
    assert.deepEqual(
      volumes['upstream-client'].secret.items.map((i: any) => i.key),
      ['tls.crt', 'tls.key'],
    );
  },
});
cases.push({
  name: 'the relay with defaults: no new flag passed (the relay keeps its own defaults)',
  args: [...CENTRAL, '--set', 'relay.enabled=true', '--set', 'relay.ca.secret=upstream-ca'],
  check: ({ objects }) => {
    const args = relayArgs(objects);
    const flags = args.slice(1).map((a) => a.split('=')[0]);
    for (const flag of NEW_RELAY_FLAGS.filter((f) => f !== '--ca-file')) assert.ok(!flags.includes(flag), flag);
    assert.ok(args.includes('--ca-file=/var/run/secrets/llm-config-relay/ca/ca.crt'));
    const pod = find(objects, 'Deployment', 'llm-config-llm-config-injector-relay')!.spec.template.spec;
    assert.deepEqual(pod.volumes.find((v: any) => v.name === 'upstream-ca').secret, {
      secretName: 'upstream-ca',
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    validateRelayOptions(parseOptions(relayOptionTable, args.slice(1), {}));
  },
});
cases.push({
  name: 'the relay: shutdownTimeout 0 as a YAML number is passed, not dropped',
  args: [...CENTRAL, ...valuesFile({ relay: { enabled: true, shutdownTimeout: 0, terminationGracePeriodSeconds: 5 } })],
  check: ({ objects }) => {
    assert.ok(relayArgs(objects).includes('--shutdown-timeout=0'));
    assert.equal(find(objects, 'Deployment', 'llm-config-llm-config-injector-relay')!.spec.template.spec.terminationGracePeriodSeconds, 5);
  },
});

// Rendered in parallel with a small pool (helm is one process per call); one test per case.
const outcomes = pool(cases, 3, async (c) => {
  const [lint, rendered] = await Promise.all([lintChart(home, c.args), renderChart(home, c.args, c.release)]);
  return { lint, rendered };
});

test(`at least 15 value combinations (${cases.length})`, () => assert.ok(cases.length >= 15));

cases.forEach((c, index) => {
  test(`chart: ${c.name}: lint --strict, template, Kubernetes schemas, no unknown fields`, async () => {
    const { lint, rendered } = (await outcomes)[index]!;
    assert.equal(lint.code, 0, `helm lint --strict\n${lint.stdout}${lint.stderr}`);
    assert.equal(rendered.result.code, 0, `helm template\n${rendered.result.stderr}`);
    const problems = (await Promise.all(rendered.objects.map(objectProblems))).flat();
    assert.deepEqual(problems, []);
    assertServiceCommands(rendered.objects);
    const args = webhookArgs(rendered.objects);
    assert.equal(args[0], 'webhook');
    const parsed = parseOptions(webhookCommand.options, args.slice(1), {});
    webhookCommand.validate?.(parsed);
    await c.check?.(rendered);
  });
});

test('NOTES.txt: every command line runs as written (no `port-forward … && curl`)', async () => {
  const notes = await renderNotes(home, CENTRAL);
  assert.match(notes, /rollout status deploy(ment)?\/llm-config-llm-config-injector\n/);
  for (const line of notes.split('\n').filter((l) => l.includes('port-forward')))
    assert.doesNotMatch(line, /port-forward[^&]*&&/, 'port-forward never exits: && never reaches the next command');
  assert.match(notes, /port-forward \S+ 9102 &/);
});

test('MutatingWebhookConfiguration: pods are injected, workload templates validated on the same path', async () => {
  const { objects } = await renderChart(home, CENTRAL);
  const [pods, templates] = find(objects, 'MutatingWebhookConfiguration')!.webhooks;
  assert.equal(pods.name, 'inject.config.llm-dev-ops.io');
  assert.deepEqual(pods.rules, [
    { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
  ]);
  assert.equal(templates.name, 'templates.config.llm-dev-ops.io');
  assert.deepEqual(templates.rules, [
    {
      operations: ['CREATE', 'UPDATE'],
      apiGroups: ['apps'],
      apiVersions: ['v1'],
      resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
      scope: 'Namespaced',
    },
    { operations: ['CREATE', 'UPDATE'], apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
  ]);
  for (const key of ['clientConfig', 'namespaceSelector', 'objectSelector', 'failurePolicy', 'sideEffects', 'timeoutSeconds'])
    assert.deepEqual(templates[key], pods[key], key);
});
