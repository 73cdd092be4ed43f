import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mutate } from '../../webhook/mutate.ts';
import { parseOptions } from '../../src/options/define.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from '../../webhook/webhook-options.ts';
import { A, INJECT_ML_SERVICE as base, mutateContext as context, podReview as review } from '../helpers/admission-review.ts';
import { ReviewDecodeError } from '../../src/errors.ts';
import { pointerSegment } from '../../webhook/json-patch.ts';

const patchOf = (response: ReturnType<typeof mutate>) => JSON.parse(Buffer.from(response.response.patch!, 'base64').toString());

test('invalid annotations are denied, each with a message naming it, the value and what is accepted', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ [A('inject')]: 'yes please' }, 'config.llm-dev-ops.io/inject=yes please: not a boolean (true or false)'],
    [{ [A('poll-interval')]: 'abc' }, 'config.llm-dev-ops.io/poll-interval=abc: not a duration (e.g. 30s, 5m, 1h30m, 250ms)'],
    [
      { [A('environment')]: 'qa' },
      'config.llm-dev-ops.io/environment=qa: not an environment (base, development|dev, staging|stage, production|prod, edge; case-insensitive)',
    ],
    [{ [A('sync-mode')]: 'push' }, 'config.llm-dev-ops.io/sync-mode=push: not one of stream, poll'],
    [{ [A('mode')]: 'daemon' }, 'config.llm-dev-ops.io/mode=daemon: not one of sidecar, init-only'],
    [{ [A('cpu-limit')]: 'lots' }, 'config.llm-dev-ops.io/cpu-limit=lots: a Kubernetes quantity such as 50m, 0.5, 64Mi or 1Gi'],
    [{ [A('memory-request')]: '1Gi' }, 'config.llm-dev-ops.io/memory-request=1Gi: at most the memory limit (256Mi)'],
    [
      { [A('mount-path')]: 'etc/config' },
      'config.llm-dev-ops.io/mount-path=etc/config: an absolute path without ".." segments, e.g. /etc/llm-config',
    ],
    [{ [A('central-url')]: 'ftp://x' }, 'config.llm-dev-ops.io/central-url=ftp://x: not an http:// or https:// URL'],
    [
      { [A('reload-signal')]: 'SIGWHAT', [A('reload-process')]: 'app' },
      'config.llm-dev-ops.io/reload-signal=SIGWHAT: a signal name such as SIGHUP, SIGUSR1 or SIGTERM',
    ],
    [
      { [A('reload-signal')]: 'SIGUSR1' },
      'config.llm-dev-ops.io/reload-signal=SIGUSR1: only together with config.llm-dev-ops.io/reload-process',
    ],
    [
      { [A('mode')]: 'init-only', [A('reload-url')]: 'http://127.0.0.1:1/r' },
      'config.llm-dev-ops.io/reload-url=http://127.0.0.1:1/r: not with mode: init-only (no agent runs to send it)',
    ],
    [
      { [A('namespaces')]: '../etc' },
      'config.llm-dev-ops.io/namespaces=../etc: "../etc" is not a namespace (letters, digits, ".", "_", "-", levels joined by "/", at most 253 characters)',
    ],
    [{ [A('containers')]: 'sidecar' }, 'config.llm-dev-ops.io/containers=sidecar: no container "sidecar" in the pod (containers: app)'],
    [
      { [A('file-../x')]: 'ml-service' },
      'config.llm-dev-ops.io/file-../x=ml-service: name must be a plain file name: no "/", no leading ".", at most 255 bytes',
    ],
    [
      { [A('file-a.env')]: 'other' },
      'config.llm-dev-ops.io/file-a.env=other: source "other" is not a synced namespace or namespace/key (synced: ml-service)',
    ],
    [
      { [A('file-a.env')]: 'ml-service', [A('file-a.env-format')]: 'xml' },
      'config.llm-dev-ops.io/file-a.env-format=xml: format "xml" is not one of json, yaml, env, properties, raw (or give a template)',
    ],
    [
      { [A('file-a.env')]: 'ml-service', [A('file-a.env-mode')]: '999' },
      'config.llm-dev-ops.io/file-a.env-mode=999: mode "999" is not an octal file mode in quotes, such as "0440"',
    ],
    [
      { [A('template-a.conf')]: 'x={{x}}' },
      "config.llm-dev-ops.io/template-a.conf=x={{x}}: needs config.llm-dev-ops.io/file-a.conf naming the template's source namespace",
    ],
    [{ [A('file-a.conf')]: 'ml-service', [A('template-a.conf')]: '{{#if}}' }, 'config.llm-dev-ops.io/template-a.conf={{#if}}: template '],
    [
      { [A('namspaces')]: 'typo' },
      'config.llm-dev-ops.io/namspaces=typo: unknown annotation (known: inject, environment, namespaces, central-url',
    ],
  ];
  for (const [annotations, message] of cases) {
    const { response } = mutate(review({ ...base, ...annotations }), context());
    assert.equal(response.allowed, false, message);
    assert.equal(response.uid, 'u-1');
    assert.equal(response.status?.code, 400);
    assert.ok(response.status?.message.startsWith(message), `${response.status?.message}\n  should start with\n${message}`);
  }
  const missing = mutate(review({ [A('inject')]: 'true' }), context()).response;
  assert.equal(
    missing.status?.message,
    'config.llm-dev-ops.io/namespaces=: required: the central API namespaces to sync, e.g. "ml-service,shared"',
  );
});

test('malformed AdmissionReviews are decode errors (HTTP 400 in the handler)', () => {
  for (const body of [
    null,
    'x',
    {},
    { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} },
    { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
    { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x' } },
    { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', object: { spec: {} } } },
  ]) {
    assert.throws(
      () => mutate(body, context()),
      (e: unknown) => e instanceof ReviewDecodeError && e.code === 'LLMC_ERR_BAD_REVIEW',
    );
  }
});

test('left alone: not annotated, inject "false", kube-system, kube-public, already injected, past Pending', () => {
  const allowedUnchanged = (r: unknown, ctx = context()) => assert.deepEqual(mutate(r, ctx).response, { uid: 'u-1', allowed: true });
  allowedUnchanged(review({}));
  allowedUnchanged(review({ ...base, [A('inject')]: 'false' }));
  allowedUnchanged(review({ ...base, [A('inject')]: 'false' }), context({ [A('inject')]: 'true' }));
  for (const namespace of ['kube-system', 'kube-public']) {
    const r = review(base);
    r.request.namespace = namespace;
    allowedUnchanged(r);
  }
  allowedUnchanged(review({ ...base, [A('status')]: 'injected' }));
  allowedUnchanged(review(base, {}, { status: { phase: 'Running' } }));
});

test('namespace annotations are defaults; the pod wins', () => {
  const ns = { [A('inject')]: 'true', [A('namespaces')]: 'from-namespace', [A('environment')]: 'prod' };
  const patch = patchOf(mutate(review({ [A('environment')]: 'staging' }), context(ns)));
  const init = patch.find((op: { path: string }) => op.path === '/spec/initContainers').value[0];
  assert.ok(init.args.includes('--namespaces=from-namespace'));
  assert.ok(init.args.includes('--environment=staging'));
});

test('whole patch: minimal ops, arrays created whole or appended, annotation key escaped', () => {
  const spec = { containers: [{ name: 'app', image: 'app', env: [{ name: 'A', value: '1' }] }], volumes: [{ name: 'data', emptyDir: {} }] };
  const patch = patchOf(mutate(review({ ...base, [A('native-sidecar')]: 'false', [A('containers')]: 'app' }, spec), context()));
  assert.deepEqual(
    patch.map((op: { op: string; path: string }) => `${op.op} ${op.path}`),
    [
      'add /spec/volumes/-',
      'add /spec/volumes/-',
      'add /spec/volumes/-',
      'add /spec/containers/0/volumeMounts',
      'add /spec/containers/0/env/-',
      'add /spec/containers/0/env/-',
      'add /spec/initContainers',
      'add /spec/containers/-',
      'add /metadata/annotations/config.llm-dev-ops.io~1status',
    ],
  );
  assert.deepEqual(patch[3].value, [
    { name: 'llm-config-files', mountPath: '/etc/llm-config', readOnly: true },
    { name: 'llm-config-run', mountPath: '/var/run/llm-config', readOnly: true },
  ]);
  assert.deepEqual(patch[4].value, { name: 'LLM_CONFIG_URL', value: 'http://127.0.0.1:8080' });
  assert.deepEqual(patch.at(-1).value, 'injected');
  const agent = patch[7].value;
  assert.equal(agent.name, 'llm-config-agent');
  assert.equal(agent.restartPolicy, undefined, 'not native: a regular container');
  assert.equal(agent.startupProbe, undefined);
  assert.equal(pointerSegment('a/b~c'), 'a~1b~0c');
});

test('init-first prepends; init-only adds no agent, no socket mount and no env', () => {
  const spec = { containers: [{ name: 'app', image: 'app' }], initContainers: [{ name: 'migrate', image: 'm' }] };
  const first = patchOf(mutate(review({ ...base, [A('init-first')]: 'true' }, spec), context()));
  assert.deepEqual(
    first
      .filter((op: { path: string }) => op.path.startsWith('/spec/initContainers'))
      .map((op: { path: string; value: { name: string } }) => [op.path, op.value.name]),
    [
      ['/spec/initContainers/0', 'llm-config-init'],
      ['/spec/initContainers/1', 'llm-config-agent'],
    ],
  );
  const only = patchOf(mutate(review({ ...base, [A('mode')]: 'init-only' }, spec), context()));
  assert.deepEqual(
    only.map((op: { path: string }) => op.path),
    ['/spec/volumes', '/spec/containers/0/volumeMounts', '/spec/initContainers/-', '/metadata/annotations/config.llm-dev-ops.io~1status'],
  );
  assert.deepEqual(only[1].value, [{ name: 'llm-config-files', mountPath: '/etc/llm-config', readOnly: true }]);
});

test('collisions are refused with a clear message, never renamed', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ volumes: [{ name: 'llm-config-files', emptyDir: {} }] }, 'cannot inject: volume "llm-config-files" already exists in the pod'],
    [
      { containers: [{ name: 'app', image: 'a', env: [{ name: 'LLM_CONFIG_URL', value: 'x' }] }] },
      'cannot inject: env LLM_CONFIG_URL in container "app" already exists',
    ],
    [
      { containers: [{ name: 'app', image: 'a', volumeMounts: [{ name: 'c', mountPath: '/etc/llm-config' }] }] },
      'cannot inject: a mount at /etc/llm-config in container "app" already exists',
    ],
    [{ containers: [{ name: 'llm-config-agent', image: 'a' }] }, 'cannot inject: container "llm-config-agent" already exists'],
  ];
  for (const [spec, message] of cases) {
    const { response } = mutate(review(base, spec), context());
    assert.equal(response.allowed, false);
    assert.ok(response.status!.message.startsWith(message), response.status!.message);
  }
});

test('warnings: reload-process without a shared process namespace, hostNetwork', () => {
  const { response } = mutate(review({ ...base, [A('reload-process')]: 'nginx' }, { hostNetwork: true }), context());
  assert.equal(response.allowed, true);
  assert.equal(response.warnings?.length, 2);
  assert.match(response.warnings![0]!, /shareProcessNamespace: true/);
});

test("vault-role and vault-secret-<name> map onto the agent's Vault flags; files go to a memory volume", () => {
  const withVault = parseOptions(injectionOptionTable, ['--central-url', 'http://central:8080', '--vault-addr', 'https://vault:8200'], {});
  const ctx = { defaults: injectionDefaults(withVault), settings: injectorSettings(withVault), namespaceAnnotations: () => ({}) };
  const annotations = { ...base, [A('vault-role')]: 'apps', [A('vault-secret-db')]: 'secret/apps/db', [A('file-db.env')]: 'vault/db' };
  const patch = patchOf(mutate(review(annotations), ctx));
  const volumes = patch.find((op: { path: string }) => op.path === '/spec/volumes').value;
  assert.deepEqual(volumes[0], { name: 'llm-config-files', emptyDir: { medium: 'Memory' } });
  assert.deepEqual(
    volumes[2].projected.sources.map((s: { serviceAccountToken: { audience: string; path: string } }) => [
      s.serviceAccountToken.audience,
      s.serviceAccountToken.path,
    ]),
    [
      ['llm-config', 'token'],
      ['vault', 'vault-token'],
    ],
  );
  const agent = patch.find((op: { path: string }) => op.path === '/spec/initContainers').value[1];
  for (const flag of [
    '--vault-addr=https://vault:8200/',
    '--vault-role=apps',
    '--vault-auth-path=kubernetes',
    '--vault-jwt-file=/var/run/secrets/llm-config/vault-token',
    '--vault-secret=db=secret/apps/db',
  ])
    assert.ok(agent.args.includes(flag), flag);
  const noRole = mutate(review({ ...base, [A('vault-secret-db')]: 'secret/apps/db' }), ctx).response;
  assert.equal(
    noRole.status?.message,
    'config.llm-dev-ops.io/vault-role=: required with config.llm-dev-ops.io/vault-secret-<name>: the Vault Kubernetes auth role',
  );
  const badPath = mutate(review({ ...base, [A('vault-role')]: 'r', [A('vault-secret-db')]: 'secret/../x' }), ctx).response;
  assert.match(badPath.status!.message, /^config\.llm-dev-ops\.io\/vault-secret-db=secret\/\.\.\/x: MOUNT\/PATH of a KV v2 secret/);
  const noAddr = mutate(review({ ...base, [A('vault-role')]: 'r', [A('vault-secret-db')]: 'secret/apps/db' }), context()).response;
  assert.match(noAddr.status!.message, /none is configured$/);
});

test('malformed objects are 400s naming the field: a non-string annotation value, a null container (issue 12 #9)', () => {
  const bad = (object: unknown, field: string) => {
    const body = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { kind: 'Pod' }, object } };
    assert.throws(
      () => mutate(body, context()),
      (e: unknown) => e instanceof ReviewDecodeError && e.code === 'LLMC_ERR_BAD_REVIEW' && e.message.includes(field),
      field,
    );
  };
  const spec = { containers: [{ name: 'app' }] };
  bad({ metadata: { annotations: { [A('inject')]: true } }, spec }, 'request.object.metadata.annotations["config.llm-dev-ops.io/inject"]');
  bad(
    { metadata: { annotations: { [A('namespaces')]: 7, [A('inject')]: 'true' } }, spec },
    'metadata.annotations["config.llm-dev-ops.io/namespaces"]',
  );
  bad({ metadata: { annotations: [] }, spec }, 'request.object.metadata.annotations');
  bad({ metadata: { annotations: base }, spec: { containers: [null] } }, 'request.object.spec.containers[0]');
  bad({ metadata: { annotations: base }, spec: { containers: [{ name: 'a' }, { image: 'x' }] } }, 'request.object.spec.containers[1].name');
  bad({ metadata: { annotations: base }, spec: { containers: [{ name: 'a', env: [null] }] } }, 'request.object.spec.containers[0].env[0]');
  bad(
    { metadata: { annotations: base }, spec: { containers: [{ name: 'a', volumeMounts: {} }] } },
    'request.object.spec.containers[0].volumeMounts',
  );
  bad(
    { metadata: { annotations: base }, spec: { containers: [{ name: 'a' }], initContainers: [7] } },
    'request.object.spec.initContainers[0]',
  );
  bad({ metadata: { annotations: base }, spec: { containers: [{ name: 'a' }], volumes: [null] } }, 'request.object.spec.volumes[0]');
  bad(
    { metadata: { annotations: base }, spec: { containers: [{ name: 'a' }], securityContext: 'x' } },
    'request.object.spec.securityContext',
  );
  bad({ metadata: 'x', spec }, 'request.object.metadata');
});

test('a mount-path equal to, inside or above an injected path is refused naming the annotation (issue 12 #10)', () => {
  for (const path of ['/var/run/llm-config', '/var/run/llm-config/', '/var/run/llm-config/files', '/var/run', '/var', '/']) {
    const { response } = mutate(review({ ...base, [A('mount-path')]: path }), context());
    assert.equal(response.allowed, false, path);
    assert.ok(response.status!.message.startsWith(`config.llm-dev-ops.io/mount-path=${path}: `), response.status!.message);
    assert.match(response.status!.message, /\/var\/run\/llm-config/);
  }
  for (const path of ['/var/run/llm-config2', '/etc/app', '/var/run/other']) {
    assert.equal(mutate(review({ ...base, [A('mount-path')]: path }), context()).response.allowed, true, path);
  }
  const initOnly = mutate(review({ ...base, [A('mode')]: 'init-only', [A('mount-path')]: '/var/run/llm-config' }), context());
  assert.equal(initOnly.response.allowed, false, 'reserved in every mode: switching the mode must not make the pod invalid');
});

test('file-<name>-mode or -format without its file-<name> says what is wrong (issue 12 #15)', () => {
  const mode = mutate(review({ ...base, [A('file-a.txt-mode')]: '0400' }), context()).response;
  assert.equal(
    mode.status?.message,
    'config.llm-dev-ops.io/file-a.txt-mode=0400: a mode for the file "a.txt", which is not declared: add config.llm-dev-ops.io/file-a.txt naming its source (a namespace or namespace/key)',
  );
  const format = mutate(review({ ...base, [A('file-a.txt-format')]: 'raw' }), context()).response;
  assert.match(
    format.status!.message,
    /^config\.llm-dev-ops\.io\/file-a\.txt-format=raw: a format for the file "a\.txt", which is not declared/,
  );
});

test('readability for apps that are not the agent uid: --readable-by=all without fsGroup; warnings for modes they could not read (issue 12 #6)', () => {
  const initAndAgent = (response: ReturnType<typeof mutate>) => {
    const ops = patchOf(response);
    return ops.find((op: { path: string }) => op.path === '/spec/initContainers').value as Array<{ name: string; args: string[] }>;
  };
  const without = mutate(review(base), context());
  for (const container of initAndAgent(without)) assert.ok(container.args.includes('--readable-by=all'), container.name);
  assert.equal(without.response.warnings, undefined);
  const withGroup = mutate(review(base, { securityContext: { fsGroup: 2000 } }), context());
  for (const container of initAndAgent(withGroup)) {
    assert.ok(!container.args.some((a) => a.startsWith('--readable-by')), `${container.name}: group is the agent's default`);
    assert.ok(container.args.includes('--file-mode=0440'));
  }

  const file = { ...base, [A('file-a.txt')]: 'ml-service', [A('file-a.txt-mode')]: '0400' };
  const noGroupRead = mutate(review(file, { securityContext: { fsGroup: 2000 } }), context()).response;
  assert.equal(noGroupRead.allowed, true);
  assert.deepEqual(noGroupRead.warnings, [
    'config.llm-dev-ops.io/file-a.txt-mode=0400: app containers read the files through the pod\'s fsGroup (2000), and this mode has no group read bit (0040), so "a.txt" is unreadable to them unless they run as uid 65532; use e.g. "0440"',
  ]);
  const widened = mutate(review(file), context()).response;
  assert.deepEqual(widened.warnings, [
    'config.llm-dev-ops.io/file-a.txt-mode=0400: the pod has no securityContext.fsGroup, so files are made readable by all (mode 0444 added) for app containers that run as another uid than 65532; set fsGroup to keep "a.txt" group-only',
  ]);
  const sameUid = mutate(review(file, { securityContext: { fsGroup: 2000, runAsUser: 65532 } }), context()).response;
  assert.equal(sameUid.warnings, undefined, 'apps running as the agent uid read the owner bits');
  const groupOk = mutate(review({ ...file, [A('file-a.txt-mode')]: '0440' }, { securityContext: { fsGroup: 2000 } }), context()).response;
  assert.equal(groupOk.warnings, undefined);
});

function workloadReview(kind: string, annotations: Record<string, string>, extra: Record<string, unknown> = {}) {
  const template = { metadata: { annotations }, spec: { containers: [{ name: 'app', image: 'app' }] } };
  const spec = kind === 'CronJob' ? { schedule: '* * * * *', jobTemplate: { spec: { template } } } : { template };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-2',
      kind: { group: 'apps', version: 'v1', kind },
      operation: 'CREATE',
      namespace: 'apps',
      object: { metadata: { name: 'w' }, spec },
      ...extra,
    },
  };
}

test('pod templates of workloads are validated at admission with the pod messages and warnings, never patched (issue 13 #7)', () => {
  const bad = { ...base, [A('poll-interval')]: 'soon' };
  const podMessage = mutate(review(bad), context()).response.status?.message;
  assert.equal(podMessage, 'config.llm-dev-ops.io/poll-interval=soon: not a duration (e.g. 30s, 5m, 1h30m, 250ms)');
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']) {
    const denied = mutate(workloadReview(kind, bad), context()).response;
    assert.deepEqual(denied, { uid: 'u-2', allowed: false, status: { code: 400, message: podMessage } }, kind);
    const fine = mutate(workloadReview(kind, { ...base, [A('reload-process')]: 'nginx' }), context()).response;
    assert.equal(fine.allowed, true, kind);
    assert.equal(fine.patch, undefined, `${kind}: validation only, never a patch`);
    assert.equal(fine.patchType, undefined);
    assert.match(fine.warnings?.[0] ?? '', /shareProcessNamespace: true/, `${kind}: the same warnings as for its pods`);
  }
  const notAnnotated = mutate(workloadReview('Deployment', {}), context()).response;
  assert.deepEqual(notAnnotated, { uid: 'u-2', allowed: true });
});

test('templates on UPDATE: judged only when the template changed; never while being deleted; other kinds pass', () => {
  const bad = { ...base, [A('poll-interval')]: 'soon' };
  const old = workloadReview('Deployment', bad).request.object;
  const unchanged = workloadReview('Deployment', bad, { operation: 'UPDATE', oldObject: old });
  assert.equal(mutate(unchanged, context()).response.allowed, true, 'scaling a Deployment is not blocked by what its template says');
  const changed = workloadReview('Deployment', bad, { operation: 'UPDATE', oldObject: workloadReview('Deployment', base).request.object });
  assert.equal(mutate(changed, context()).response.allowed, false);
  const deleting = workloadReview('Deployment', bad);
  (deleting.request.object.metadata as Record<string, unknown>).deletionTimestamp = '2026-11-30T00:00:00Z';
  assert.equal(mutate(deleting, context()).response.allowed, true);
  assert.equal(mutate(workloadReview('Deployment', bad, { operation: 'DELETE' }), context()).response.allowed, true);
  assert.equal(mutate(workloadReview('ConfigMap', bad), context()).response.allowed, true);
  const kubeSystem = workloadReview('Deployment', bad);
  kubeSystem.request.namespace = 'kube-system';
  assert.equal(mutate(kubeSystem, context()).response.allowed, true);
  const malformed = workloadReview('CronJob', base);
  (malformed.request.object.spec as any).jobTemplate.spec.template.spec.containers = [null];
  assert.throws(
    () => mutate(malformed, context()),
    (e: unknown) =>
      e instanceof ReviewDecodeError && e.message.startsWith('request.object.spec.jobTemplate.spec.template.spec.containers[0]: '),
  );
});

test("one definition per sync setting: the annotation table and the webhook's defaults use the agent's own rows", async () => {
  const { ANNOTATIONS } = await import('../../webhook/annotations.ts');
  const { syncOptionTable } = await import('../../src/options/sync-options.ts');
  const { agentOptionTable } = await import('../../agent/agent-options.ts');
  const shared = [
    ['environment', 'environment'],
    ['namespaces', 'namespaces'],
    ['central-url', 'centralUrl'],
    ['sync-mode', 'syncMode'],
    ['poll-interval', 'pollInterval'],
    ['vault-role', 'vaultRole'],
  ] as const;
  for (const [annotation, key] of shared) {
    assert.equal(ANNOTATIONS[annotation].parser, syncOptionTable[key].parser, annotation);
    assert.equal(agentOptionTable[key].parser, syncOptionTable[key].parser, key);
  }
  for (const key of ['environment', 'syncMode', 'pollInterval'] as const) {
    assert.equal(injectionOptionTable[key].parser, syncOptionTable[key].parser, key);
    assert.equal(injectionOptionTable[key].defaultText, syncOptionTable[key].defaultText, key);
  }
  for (const [annotation, key] of [
    ['reload-url', 'reloadUrl'],
    ['reload-signal', 'reloadSignal'],
    ['reload-process', 'reloadProcess'],
  ] as const)
    assert.equal(ANNOTATIONS[annotation].parser, agentOptionTable[key].parser, annotation);
  for (const [annotation, key] of [
    ['mode', 'mode'],
    ['mount-path', 'mountPath'],
    ['cpu-limit', 'cpuLimit'],
    ['memory-request', 'memoryRequest'],
  ] as const)
    assert.equal(ANNOTATIONS[annotation].parser, injectionOptionTable[key].parser, annotation);
});
