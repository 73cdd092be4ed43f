// Review of issue 13: long release names gave relay objects the webhook's names
// (`-relay` cut by trunc 63); `1x`/`a.b` rendered Service names that are not DNS-1035
// labels; `podDisruptionBudget=null` crashed a template; `agent.mountPath` at the agent's
// run directory was accepted and then denied every pod. Real `helm`, as in the matrix.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART, find, helmHome, lintChart, objectProblems, pool, renderChart } from './chart-render.ts';
import { filesMountPath } from '../../webhook/webhook-options.ts';

const { home, dispose } = helmHome();
after(dispose);
const CENTRAL = ['--set', 'agent.centralUrl=https://llm-config.example.internal'];
const LONG = `r${'x'.repeat(44)}`; // 45 characters: legal (Helm allows 53)
const DNS_1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

type Case = { release: string; args: string[] };
const cases: Record<string, Case> = {
  long: { release: LONG, args: [...CENTRAL, '--set', 'relay.enabled=true'] },
  longest: { release: `r${'x'.repeat(52)}`, args: [...CENTRAL, '--set', 'relay.enabled=true', '--set', 'networkPolicy.enabled=true'] },
  digit: { release: '1x', args: CENTRAL },
  dot: { release: 'a.b', args: CENTRAL },
  dotOverride: { release: 'a.b', args: [...CENTRAL, '--set', 'fullnameOverride=ab'] },
  pdbNull: { release: 'llm-config', args: [...CENTRAL, '--set', 'podDisruptionBudget=null'] },
  reservedMount: { release: 'llm-config', args: [...CENTRAL, '--set', 'agent.mountPath=/var/run/llm-config'] },
  reservedMountSpelling: { release: 'llm-config', args: [...CENTRAL, '--set', 'agent.mountPath=/var/./run//llm-config/x'] },
};
const names = Object.keys(cases);
const outcomes = pool(names, 3, async (name) => {
  const c = cases[name]!;
  return renderChart(home, c.args, c.release);
});
const outcome = async (name: string) => (await outcomes)[names.indexOf(name)]!;

for (const name of ['long', 'longest']) {
  test(`a ${cases[name]!.release.length}-character release name with the relay: no two objects share a kind and name`, async () => {
    const { result, objects } = await outcome(name);
    assert.equal(result.code, 0, result.stderr);
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(
      keys.filter((k, i) => keys.indexOf(k) !== i),
      [],
    );
    for (const o of objects.filter((o) => ['Service', 'Deployment'].includes(o.kind))) assert.match(o.metadata.name, DNS_1035, o.kind);
    for (const o of objects) assert.ok(o.metadata.name.length <= 63 || o.kind === 'Secret', `${o.kind} ${o.metadata.name}`);
    assert.ok(objects.some((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-relay')));
    assert.deepEqual((await Promise.all(objects.map(objectProblems))).flat(), []);
  });
}

test('release names whose Service names would not be DNS-1035 labels fail the render, naming fullnameOverride', async () => {
  for (const name of ['digit', 'dot']) {
    const { result } = await outcome(name);
    assert.notEqual(result.code, 0, name);
    assert.match(result.stderr, /is not a DNS-1035 label, .*: set fullnameOverride/, name);
  }
  const fixed = await outcome('dotOverride');
  assert.equal(fixed.result.code, 0, fixed.result.stderr);
  assert.equal(find(fixed.objects, 'Service')!.metadata.name, 'ab');
});

test('podDisruptionBudget=null is the default (maxUnavailable: 1), not a template crash', async () => {
  const { result, objects } = await outcome('pdbNull');
  assert.equal(result.code, 0, result.stderr);
  assert.equal(find(objects, 'PodDisruptionBudget')!.spec.maxUnavailable, 1);
  const lint = await lintChart(home, cases.pdbNull!.args);
  assert.equal(lint.code, 0, lint.stdout + lint.stderr);
});

test('agent.mountPath at the agent run directory (any spelling) is refused by the schema', async () => {
  for (const name of ['reservedMount', 'reservedMountSpelling']) {
    const { result } = await outcome(name);
    assert.notEqual(result.code, 0, name);
    assert.match(result.stderr, /\/agent\/mountPath'/, name);
  }
});

test("the schema's mount-path rule and the webhook's parser accept the same paths", () => {
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
  const rule = schema.properties.agent.properties.mountPath;
  const schemaAccepts = (path: string) =>
    new RegExp(rule.pattern).test(path) && rule.allOf.every((r: { not: { pattern: string } }) => !new RegExp(r.not.pattern).test(path));
  const parserAccepts = (path: string) => {
    try {
      filesMountPath.parse(path);
      return true;
    } catch {
      return false;
    }
  };
  const paths = [
    '/etc/llm-config',
    '/srv//cfg',
    '/var/run/llm-config',
    '/var/run/llm-config/',
    '/var/run//llm-config',
    '/var/./run/llm-config/x',
    '/var',
    '/var/',
    '/var/run',
    '/var/run/.',
    '/',
    '//',
    '/.',
    '/./',
    '/var/run/llm-config2',
    '/var/run/other',
    '/var.',
    '/.var',
    '/var/runx',
    '/etc/../var',
    '/a/..',
    'relative',
    '/var/run/./',
    '/var/lib/llm-config',
  ];
  for (const path of paths) assert.equal(schemaAccepts(path), parserAccepts(path), path);
});
