// Review of issue 12: the agent takes 127.0.0.1:8080 (local API) and 0.0.0.0:9102 (admin)
// in the pod's network namespace, and as a native sidecar it starts before the app, so an
// app listening on either port failed to bind. Decision (docs/admin.md): a containerPort of
// any container in the pod equal to an agent port is refused, naming the container, the
// port and the annotation that moves the agent (`http-port`, `admin-port`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mutate } from '../../webhook/mutate.ts';
import { A, INJECT_ML_SERVICE as base, mutateContext, patchOf, podReview } from '../helpers/admission-review.ts';

const context = mutateContext();
type Port = { containerPort: number; protocol?: string; hostPort?: number; name?: string };
const review = (annotations: Record<string, string>, ports: Port[], initPorts: Port[] = []) =>
  podReview(annotations, {
    containers: [
      { name: 'frontend', image: 'app', ports },
      { name: 'other', image: 'other' },
    ],
    initContainers: initPorts.length > 0 ? [{ name: 'proxy', image: 'p', restartPolicy: 'Always', ports: initPorts }] : undefined,
  });
const agentOf = (response: ReturnType<typeof mutate>['response']) =>
  patchOf(response)
    .flatMap((op: { value: unknown }) => (Array.isArray(op.value) ? op.value : [op.value]))
    .find((c: { name?: string }) => c?.name === 'llm-config-agent');

test('an app declaring containerPort 8080 or 9102 is refused, naming the clash and the annotation to set', () => {
  const http = mutate(review(base, [{ containerPort: 8080 }]), context).response;
  assert.equal(http.allowed, false);
  assert.equal(
    http.status!.message,
    'cannot inject: container "frontend" declares containerPort 8080, where the agent\'s local API listens (127.0.0.1:8080 in the pod\'s network); set config.llm-dev-ops.io/http-port to a port the pod does not use',
  );
  const admin = mutate(review(base, [{ containerPort: 9102, name: 'metrics' }]), context).response;
  assert.equal(admin.allowed, false);
  assert.match(
    admin.status!.message,
    /container "frontend" declares containerPort 9102, where the agent's admin port .*set config\.llm-dev-ops\.io\/admin-port/,
  );
  const sidecar = mutate(review(base, [], [{ containerPort: 8080 }]), context).response;
  assert.equal(sidecar.allowed, false, 'init containers (native sidecars) share the network too');
  assert.match(sidecar.status!.message, /container "proxy" declares containerPort 8080/);
});

test('http-port and admin-port move the agent: its flags, probes, containerPort and LLM_CONFIG_URL follow', () => {
  const { response } = mutate(
    review({ ...base, [A('http-port')]: '18080', [A('admin-port')]: '19102' }, [{ containerPort: 8080 }, { containerPort: 9102 }]),
    context,
  );
  assert.equal(response.allowed, true, response.status?.message);
  const agent = agentOf(response);
  assert.ok(agent.args.includes('--http-addr=127.0.0.1:18080'), agent.args.join(' '));
  assert.ok(agent.args.includes('--admin-addr=0.0.0.0:19102'), agent.args.join(' '));
  assert.deepEqual(agent.ports, [{ name: 'llmc-admin', containerPort: 19102, protocol: 'TCP' }]);
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) assert.equal(agent[probe].httpGet.port, 19102, probe);
  assert.ok(JSON.stringify(patchOf(response)).includes('"name":"LLM_CONFIG_URL","value":"http://127.0.0.1:18080"'));
});

test('not a clash: UDP on the same number, hostPort only, init-only mode (no agent runs); ports are validated', () => {
  assert.equal(mutate(review(base, [{ containerPort: 8080, protocol: 'UDP' }]), context).response.allowed, true);
  assert.equal(mutate(review(base, [{ containerPort: 80, hostPort: 8080 }]), context).response.allowed, true);
  assert.equal(mutate(review({ ...base, [A('mode')]: 'init-only' }, [{ containerPort: 8080 }]), context).response.allowed, true);
  for (const [name, value] of [
    ['http-port', '80'],
    ['admin-port', '70000'],
    ['http-port', 'x'],
  ]) {
    const { response } = mutate(review({ ...base, [A(name!)]: value! }, []), context);
    assert.equal(response.allowed, false);
    assert.match(response.status!.message, new RegExp(`^config\\.llm-dev-ops\\.io/${name}=${value}: `));
  }
  const same = mutate(review({ ...base, [A('http-port')]: '9102' }, []), context).response;
  assert.equal(same.allowed, false);
  assert.match(same.status!.message, /^config\.llm-dev-ops\.io\/http-port=9102: .*admin port/);
});
