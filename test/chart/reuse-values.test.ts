// `helm upgrade --reuse-values` from the chart before the relay's flags became values
// (a59f26c): Helm renders the NEW templates against the OLD release's values
// (pkg/action/upgrade.go reuseValues), so every key added since (relay.ca, relay.stateKey,
// relay.terminationGracePeriodSeconds, the null flags) is absent and must render as its
// default. Simulated by rendering this chart with a59f26c's values.yaml as its defaults:
// it must render, every object valid, the relay's args accepted by the relay, and every
// object the same as the previous chart renders from the same values (nothing new but
// the changes made on purpose since, listed in withoutDeliberateChanges).
// The previous chart is kept as the package `helm package` made of it
// (fixtures/llm-config-injector-a59f26c.tgz), so a shallow checkout runs this too.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helm } from '../helpers/helm.ts';
import { CHART, helmHome, objectProblems, type K8sObject } from './chart-render.ts';
import { startError } from './relay-start.ts';
import { IMAGE_CLI, SERVICE_NODE_FLAGS } from '../helpers/cli-process.ts';

const PREVIOUS = 'a59f26c';
const PREVIOUS_CHART = join(import.meta.dirname, 'fixtures', `llm-config-injector-${PREVIOUS}.tgz`);
const { home, dispose } = helmHome();
const dir = mkdtempSync(join(tmpdir(), 'llmc-reuse-'));
after(() => {
  dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** This chart with the previous values.yaml: what --reuse-values hands the new templates. */
async function currentWithPreviousValues(): Promise<string> {
  const shown = await helm(['show', 'values', PREVIOUS_CHART], { home });
  assert.equal(shown.code, 0, shown.stderr);
  const chart = join(dir, 'current');
  cpSync(CHART, chart, { recursive: true });
  writeFileSync(join(chart, 'values.yaml'), shown.stdout);
  return chart;
}

async function render(chart: string, args: readonly string[]): Promise<K8sObject[]> {
  const result = await helm(['template', 'llm-config', chart, '--namespace', 'llm-config', ...args], { home });
  assert.equal(result.code, 0, result.stderr);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

// cert-manager TLS: the default mode generates a new CA on every render.
const BASE = [
  '--set',
  'agent.centralUrl=https://llm-config.example.internal',
  '--set',
  'tls.mode=cert-manager',
  '--set',
  'relay.enabled=true',
];
const COMBOS: Record<string, string[]> = {
  'the relay with its defaults': [],
  'the relay with auth none, no state Secret, a token Secret and headers': [
    '--set',
    'relay.auth=none',
    '--set',
    'relay.stateSecret.enabled=false',
    '--set',
    'relay.upstreamTokenSecret=upstream-token',
    '--set',
    'relay.centralHeaders[0]=X-Forwarded-Proto: https',
  ],
};

/**
 * The objects with the changes made on purpose since the previous chart taken out, each
 * checked first: the webhook's and the relay's `command` (the image's CLI without the
 * sidecar's tier-up flags; docs/sizing.md).
 */
function withoutDeliberateChanges(objects: readonly K8sObject[]): K8sObject[] {
  return objects.map((o) => {
    if (o.kind !== 'Deployment') return o;
    const copy = structuredClone(o);
    for (const c of copy.spec.template.spec.containers as Array<{ command?: string[] }>) {
      assert.deepEqual(c.command, ['node', ...SERVICE_NODE_FLAGS, IMAGE_CLI]);
      delete c.command;
    }
    return copy;
  });
}

let current: Promise<string> | undefined;

for (const [name, extra] of Object.entries(COMBOS)) {
  test(`--reuse-values from ${PREVIOUS}, ${name}: renders, valid, the relay starts, nothing changes`, async () => {
    current ??= currentWithPreviousValues();
    const [before, now] = await Promise.all([render(PREVIOUS_CHART, [...BASE, ...extra]), render(await current, [...BASE, ...extra])]);
    assert.deepEqual((await Promise.all(now.map(objectProblems))).flat(), []);
    const relay = now.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-relay'));
    assert.ok(relay, 'a relay Deployment');
    const args: string[] = relay.spec.template.spec.containers[0].args;
    assert.equal(startError(args), undefined, `the relay refuses its args: ${args.join(' ')}`);
    assert.deepEqual(withoutDeliberateChanges(now), before, 'the previous values render the same objects as the previous chart');
  });
}
