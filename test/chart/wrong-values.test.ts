// Wrong values are refused by the real `helm` (values.schema.json, or a `fail` in a
// template where a rule spans several values), with a message naming what was wrong.
// `helm lint` runs templates leniently: `fail` and `required` are only logged there
// (Helm's lint mode), so for those it must print the message, while `helm template`
// (and so `install`) must refuse.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { helmHome, lintChart, pool, renderChart } from './chart-render.ts';

const { home, dispose } = helmHome();
after(dispose);
const CENTRAL = ['--set', 'agent.centralUrl=https://llm-config.example.internal'];
const RELAY = ['--set', 'relay.enabled=true'];

/** [what, extra helm args, the message helm must print, refused by a template rule]. */
const WRONG: Array<[string, string[], RegExp, 'template'?]> = [
  // issue 13, item 9
  ['a word for minAvailable', ['--set', 'podDisruptionBudget.minAvailable=lots'], /\/podDisruptionBudget\/minAvailable/],
  [
    'a CIDR that is not one',
    ['--set', 'networkPolicy.apiServerCidrs[0]=not-a-cidr'],
    /\/networkPolicy\/apiServerCidrs\/0': 'not-a-cidr' does not match/,
  ],
  [
    'a CIDR with a bad prefix',
    ['--set', 'networkPolicy.apiServerCidrs[0]=10.0.0.0/33'],
    /\/networkPolicy\/apiServerCidrs\/0': '10.0.0.0\/33'/,
  ],
  [
    'an unknown selector operator',
    ['--set', 'webhook.namespaceSelectorExpressions[0].key=team', '--set', 'webhook.namespaceSelectorExpressions[0].operator=Maybe'],
    /namespaceSelectorExpressions\/0\/operator': value must be one of 'In', 'NotIn', 'Exists', 'DoesNotExist'/,
  ],
  [
    'In without values',
    ['--set', 'webhook.namespaceSelectorExpressions[0].key=team', '--set', 'webhook.namespaceSelectorExpressions[0].operator=In'],
    /namespaceSelectorExpressions\/0': missing property 'values'/,
  ],
  [
    'an unknown key in a toleration',
    ['--set', 'tolerations[0].colour=red'],
    /\/tolerations\/0': additional properties 'colour' not allowed/,
  ],
  ['a wrong toleration effect', ['--set', 'tolerations[0].effect=Sometimes'], /\/tolerations\/0\/effect'/],
  [
    'a number as a label value',
    ['--set', 'serviceMonitor.labels.release=1'],
    /\/serviceMonitor\/labels\/release': got number, want string/,
  ],
  ['a number as a common label', ['--set', 'commonLabels.tier=2'], /\/commonLabels\/tier': got number, want string/],
  ['a label key with a space', ['--set-json', 'podLabels={"bad key":"x"}'], /invalid propertyName 'bad key'/],
  ['a number as tokenAudience', ['--set', 'agent.tokenAudience=123'], /\/agent\/tokenAudience': got number, want string/],
  ['a number as the Vault token audience', ['--set', 'vault.tokenAudience=7'], /\/vault\/tokenAudience': got number, want string/],
  // the rest of the schema
  ['no replicas', ['--set', 'replicaCount=0'], /\/replicaCount': minimum: got 0, want 1/],
  [
    'an unknown failurePolicy',
    ['--set', 'webhook.failurePolicy=Sometimes'],
    /\/webhook\/failurePolicy': value must be one of 'Ignore', 'Fail'/,
  ],
  ['a privileged port', ['--set', 'webhook.port=80'], /\/webhook\/port': minimum: got 80, want 1,?024/],
  [
    'an unknown TLS mode',
    ['--set', 'tls.mode=manual'],
    /\/tls\/mode': value must be one of 'helm', 'cert-manager', 'self-managed', 'existing-secret'/,
  ],
  ['existing-secret without its Secret and CA', ['--set', 'tls.mode=existing-secret'], /\/tls\/existingSecret': minLength: got 0, want 1/],
  [
    'a caBundle that is not base64',
    ['--set', 'tls.mode=existing-secret', '--set', 'tls.existingSecret=x', '--set', 'tls.caBundle=not base64!'],
    /\/tls\/caBundle'/,
  ],
  ['a header without a colon', ['--set', 'agent.centralHeaders[0]=no colon'], /\/agent\/centralHeaders\/0'/],
  ['an unknown environment', ['--set', 'agent.environment=qa'], /\/agent\/environment'/],
  ['a relative mount path', ['--set', 'agent.mountPath=relative'], /\/agent\/mountPath'/],
  ['an unknown top-level key (a typo)', ['--set', 'replicas=3'], /additional properties 'replicas' not allowed/],
  ['an unknown strategy type', ['--set', 'strategy.type=Canary'], /\/strategy\/type'/],
  ['a probe threshold of zero', ['--set', 'probes.readiness.failureThreshold=0'], /\/probes\/readiness\/failureThreshold'/],
  ['an env entry with both value and valueFrom', ['--set-json', 'extraEnv=[{"name":"A","value":"x","valueFrom":{}}]'], /\/extraEnv\/0'/],
  [
    'a hostNetwork port below 1024',
    ['--set', 'hostNetwork.enabled=true', '--set', 'hostNetwork.port=443'],
    /\/hostNetwork\/port': minimum/,
  ],
  [
    'a metricsFrom peer of an unknown kind',
    ['--set-json', 'networkPolicy.metricsFrom=[{"everyone":true}]'],
    /\/networkPolicy\/metricsFrom\/0'/,
  ],
  // the relay's flags (relay/relay-options.ts): each refused naming the value and what is accepted
  ['a negative token review rate', [...RELAY, '--set', 'relay.tokenReviewRps=-5'], /\/relay\/tokenReviewRps': minimum: got -5, want 1/],
  ['a token review rate of zero', [...RELAY, '--set', 'relay.tokenReviewRps=0'], /\/relay\/tokenReviewRps': minimum: got 0, want 1/],
  [
    'a token review rate as text',
    [...RELAY, '--set-string', 'relay.tokenReviewRps=50'],
    /\/relay\/tokenReviewRps': got string, want null or integer/,
  ],
  [
    'a fractional per-client cap',
    [...RELAY, '--set-json', 'relay.maxNamespacesPerClient=1.5'],
    /\/relay\/maxNamespacesPerClient': got number, want null or integer/,
  ],
  [
    "a per-client cap over the relay's bound",
    [...RELAY, '--set', 'relay.maxNamespacesPerClient=100001'],
    /\/relay\/maxNamespacesPerClient': maximum: got 100,?001, want 100,?000/,
  ],
  [
    'a tiny maxResponseBytes',
    [...RELAY, '--set', 'relay.maxResponseBytes=100'],
    /\/relay\/maxResponseBytes': minimum: got 100, want 1,?024/,
  ],
  ['an unknown sync mode', [...RELAY, '--set', 'relay.syncMode=push'], /\/relay\/syncMode': 'push' does not match/],
  ['a duration with a space', [...RELAY, '--set', 'relay.requestTimeout=10 s'], /\/relay\/requestTimeout': '10 s' does not match/],
  ['a duration without a unit', [...RELAY, '--set-string', 'relay.pingInterval=15'], /\/relay\/pingInterval': '15' does not match/],
  ['a negative duration', [...RELAY, '--set', 'relay.tokenReviewTimeout=-5s'], /\/relay\/tokenReviewTimeout': '-5s' does not match/],
  ['a duration in days', [...RELAY, '--set', 'relay.resyncInterval=1d'], /\/relay\/resyncInterval': '1d' does not match/],
  ['a number as a duration', [...RELAY, '--set', 'relay.backoffMax=60'], /\/relay\/backoffMax': got number, want null or string/],
  [
    'a shutdown timeout of 1 (no unit)',
    [...RELAY, '--set', 'relay.shutdownTimeout=1'],
    /\/relay\/shutdownTimeout': maximum: got 1, want 0/,
  ],
  [
    'a state key Secret without its key',
    [...RELAY, '--set', 'relay.stateKey.secretName=relay-key'],
    /\/relay\/stateKey\/key': minLength: got 0, want 1/,
  ],
  [
    'an upper-case CA ConfigMap name',
    [...RELAY, '--set', 'relay.ca.configMap=Upstream'],
    /\/relay\/ca\/configMap': 'Upstream' does not match/,
  ],
  [
    'no grace period',
    [...RELAY, '--set', 'relay.terminationGracePeriodSeconds=0'],
    /\/relay\/terminationGracePeriodSeconds': minimum: got 0, want 1/,
  ],
  // hostile text: an extra flag, a new list item or YAML of its own must never get through
  [
    'a sync mode carrying another flag',
    [...RELAY, '--set', 'relay.syncMode=poll --auth=none'],
    /\/relay\/syncMode': 'poll --auth=none' does not match/,
  ],
  [
    'a duration carrying a new list item',
    [...RELAY, '--set-json', 'relay.requestTimeout="10s\\n            - --auth=none"'],
    /\/relay\/requestTimeout': '10s\\n\s+- --auth=none' does not match/,
  ],
  [
    'a duration with quotes',
    [...RELAY, '--set-json', 'relay.pingInterval="15s\\" --auth=none \\""'],
    /\/relay\/pingInterval': '15s" --auth=none "' does not match/,
  ],
  [
    'a flag as a duration',
    [...RELAY, '--set', 'relay.heartbeatTimeout=--auth=none'],
    /\/relay\/heartbeatTimeout': '--auth=none' does not match/,
  ],
  [
    'YAML as a duration',
    [...RELAY, '--set-json', 'relay.backoffBase="*a {x: 1} #c"'],
    /\/relay\/backoffBase': '\*a \{x: 1\} #c' does not match/,
  ],
  [
    'a flag as a Secret name',
    [...RELAY, '--set', 'relay.clientCertSecret=--client-key'],
    /\/relay\/clientCertSecret': '--client-key' does not match/,
  ],
  [
    'a state key with a space',
    [...RELAY, '--set', 'relay.stateKey.secretName=k', '--set', 'relay.stateKey.key=a b'],
    /\/relay\/stateKey\/key': 'a b' does not match/,
  ],
  [
    'a CA key with a path',
    [...RELAY, '--set', 'relay.ca.secret=ca', '--set', 'relay.ca.key=../token'],
    /\/relay\/ca\/key': '..\/token' does not match/,
  ],
  // rules across several values: `fail` in a template
  [
    'a relay duration under what its flag accepts',
    [...RELAY, '--set', 'relay.tokenReviewTimeout=50ms'],
    /relay.tokenReviewTimeout=50ms is below 100ms, the least the relay's --token-review-timeout accepts/,
    'template',
  ],
  [
    'a relay duration made of parts under its minimum',
    [...RELAY, '--set', 'relay.requestTimeout=0s50ms'],
    /relay.requestTimeout=0s50ms is below 100ms/,
    'template',
  ],
  [
    'a relay duration over the longest Node timer',
    [...RELAY, '--set', 'relay.resyncInterval=600h'],
    /relay.resyncInterval=600h is over 2147483647ms/,
    'template',
  ],
  [
    'backoffBase over backoffMax',
    [...RELAY, '--set', 'relay.backoffBase=2m', '--set', 'relay.backoffMax=1m'],
    /relay.backoffBase=2m is longer than relay.backoffMax=1m/,
    'template',
  ],
  [
    'a shutdown timeout the grace period cannot hold',
    [...RELAY, '--set', 'relay.shutdownTimeout=26s'],
    /relay.shutdownTimeout=26s must be at least 5s shorter than relay.terminationGracePeriodSeconds=30/,
    'template',
  ],
  [
    "a grace period under the relay's default shutdown timeout",
    [...RELAY, '--set', 'relay.terminationGracePeriodSeconds=10'],
    /relay.terminationGracePeriodSeconds=10 leaves no room for the relay's default --shutdown-timeout/,
    'template',
  ],
  [
    'a CA from both a ConfigMap and a Secret',
    [...RELAY, '--set', 'relay.ca.configMap=a', '--set', 'relay.ca.secret=b'],
    /relay.ca: set configMap \(a\) or secret \(b\), not both/,
    'template',
  ],
  ['no central URL', [], /agent.centralUrl is required: the central API every injected agent syncs from/, 'template'],
  [
    'minAvailable equal to the replicas (blocks every drain)',
    ['--set', 'replicaCount=1', '--set', 'podDisruptionBudget.maxUnavailable=null', '--set', 'podDisruptionBudget.minAvailable=1'],
    /podDisruptionBudget.minAvailable=1 with replicaCount=1 allows no eviction and blocks every node drain/,
    'template',
  ],
  [
    'minAvailable 100%',
    ['--set', 'podDisruptionBudget.maxUnavailable=null', '--set', 'podDisruptionBudget.minAvailable=100%'],
    /allows no eviction/,
    'template',
  ],
  [
    'both minAvailable and maxUnavailable',
    ['--set', 'podDisruptionBudget.minAvailable=1'],
    /set maxUnavailable or minAvailable, not both/,
    'template',
  ],
  [
    'NetworkPolicy CIDRs and a ServiceMonitor without metricsFrom',
    ['--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.apiServerCidrs[0]=10.0.0.0/8', '--set', 'serviceMonitor.enabled=true'],
    /set networkPolicy.metricsFrom to the Prometheus pods/,
    'template',
  ],
  [
    'a caBundle that is base64 of something else',
    [
      '--set',
      'tls.mode=existing-secret',
      '--set',
      'tls.existingSecret=x',
      '--set',
      `tls.caBundle=${Buffer.from('hello').toString('base64')}`,
    ],
    /tls.caBundle must be base64 of a PEM CA certificate/,
    'template',
  ],
];

const outcomes = pool(WRONG, 3, async ([what, args]) => {
  const withCentral = what === 'no central URL' ? args : [...CENTRAL, ...args];
  const [lint, rendered] = await Promise.all([lintChart(home, withCentral), renderChart(home, withCentral)]);
  return { lint, rendered };
});

WRONG.forEach(([what, args, message, rule], index) => {
  test(`refused: ${what} (${args.filter((a) => !a.startsWith('--')).join(' ')})`, async () => {
    const { lint, rendered } = (await outcomes)[index]!;
    assert.notEqual(rendered.result.code, 0, 'helm template must refuse it');
    assert.match(rendered.result.stderr, message);
    if (rule !== 'template') assert.notEqual(lint.code, 0, 'helm lint --strict must refuse it');
    assert.match(lint.stdout + lint.stderr, message, 'helm lint prints the message');
  });
});
