// The relay's values against the relay's own option table: what values.yaml says the
// default is, the schema's integer bounds, the template's duration minimums, and the
// shutdown timeout the chart assumes when none is set (its check against
// terminationGracePeriodSeconds).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { relayOptionTable } from '../../relay/relay-options.ts';
import { CHART, helmHome, pool, renderChart } from './chart-render.ts';
import { OPTIONAL_RELAY_VALUES, RELAY_DURATION_MINIMUMS } from './relay-values.ts';

const { home, dispose } = helmHome();
after(dispose);
const RELAY = ['--set', 'agent.centralUrl=https://llm-config.example.internal', '--set', 'relay.enabled=true'];
const table = relayOptionTable as Record<string, { defaultText: string | undefined; parser: { parse(raw: string): unknown } }>;
const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));

/** The comment lines right above `  key:` in the relay section. */
function commentAbove(key: string): string {
  const lines = valuesText.slice(valuesText.indexOf('\nrelay:')).split('\n');
  const at = lines.indexOf(`  ${key}: null`);
  assert.ok(at > 0, `relay.${key}: null in values.yaml`);
  const comment: string[] = [];
  for (let i = at - 1; i >= 0 && /^\s*#/.test(lines[i]!); i--) comment.unshift(lines[i]!);
  return comment.join(' ');
}

for (const key of OPTIONAL_RELAY_VALUES) {
  test(`values.yaml relay.${key}: null, commented with the relay's own default`, () => {
    const spec = table[key];
    assert.ok(spec, `relay/relay-options.ts has ${key}`);
    const said = [...commentAbove(key).matchAll(/\(default ([^)]+)\)/g)].at(-1)?.[1];
    assert.equal(said, spec.defaultText, `the comment's default is the option table's (${key})`);
    assert.ok(schema.properties.relay.properties[key], `values.schema.json has relay.${key}`);
  });
}

test('integer bounds in the schema are the parser bounds', () => {
  for (const key of ['maxResponseBytes', 'maxNamespacesPerClient', 'tokenReviewRps', 'upstreamRps', 'maxNamespaces']) {
    const { minimum, maximum } = schema.properties.relay.properties[key];
    const { parser } = table[key]!;
    assert.doesNotThrow(() => parser.parse(String(minimum)), `${key} ${minimum}`);
    assert.doesNotThrow(() => parser.parse(String(maximum)), `${key} ${maximum}`);
    assert.throws(() => parser.parse(String(minimum - 1)), `${key} ${minimum - 1}`);
    assert.throws(() => parser.parse(String(maximum + 1)), `${key} ${maximum + 1}`);
  }
});

// Each duration at its minimum renders, one millisecond under it is refused: the same
// line the relay's parser draws (checked on the parser too).
const durationCases = Object.entries(RELAY_DURATION_MINIMUMS).flatMap(([key, min]) => [
  { key, raw: `${min}ms`, ok: true },
  { key, raw: min === 1 ? '0.4ms' : `${min - 1}ms`, ok: false },
]);
// backoffMax at its least needs a backoffBase no longer (the relay's 1s default is).
const companion = (key: string) => (key === 'backoffMax' ? ['--set', 'relay.backoffBase=1ms'] : []);
const durationOutcomes = pool(durationCases, 3, ({ key, raw }) =>
  renderChart(home, [...RELAY, ...companion(key), '--set', `relay.${key}=${raw}`]),
);
durationCases.forEach(({ key, raw, ok }, index) => {
  test(`relay.${key}=${raw} is ${ok ? 'rendered' : 'refused'}, as the relay's parser does`, async () => {
    const { result } = (await durationOutcomes)[index]!;
    if (ok) {
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotThrow(() => table[key]!.parser.parse(raw));
    } else {
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, new RegExp(`relay\\.${key}=${raw.replace('.', '\\.')} is below`));
      assert.throws(() => table[key]!.parser.parse(raw));
    }
  });
});

test("terminationGracePeriodSeconds: the chart's assumed default --shutdown-timeout is the relay's", async () => {
  const defaultMs = table.shutdownTimeout!.parser.parse(table.shutdownTimeout!.defaultText!) as number;
  const least = defaultMs / 1000 + 5;
  const [fits, short] = await Promise.all([
    renderChart(home, [...RELAY, '--set', `relay.terminationGracePeriodSeconds=${least}`]),
    renderChart(home, [...RELAY, '--set', `relay.terminationGracePeriodSeconds=${least - 1}`]),
  ]);
  assert.equal(fits.result.code, 0, fits.result.stderr);
  assert.notEqual(short.result.code, 0);
  assert.match(short.result.stderr, new RegExp(`default --shutdown-timeout \\(${table.shutdownTimeout!.defaultText}\\)`));
});

test('shutdownTimeout exactly 5s under the grace period renders; a millisecond more is refused', async () => {
  const [fits, over] = await Promise.all([
    renderChart(home, [...RELAY, '--set', 'relay.terminationGracePeriodSeconds=20', '--set', 'relay.shutdownTimeout=15s']),
    renderChart(home, [...RELAY, '--set', 'relay.terminationGracePeriodSeconds=20', '--set', 'relay.shutdownTimeout=15001ms']),
  ]);
  assert.equal(fits.result.code, 0, fits.result.stderr);
  assert.notEqual(over.result.code, 0);
  assert.match(over.result.stderr, /relay.shutdownTimeout=15001ms must be at least 5s shorter than relay.terminationGracePeriodSeconds=20/);
});
