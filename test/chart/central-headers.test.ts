// agent.centralHeaders and relay.centralHeaders against --central-header's own parser
// (src/options/parsers.ts `header`, used by the webhook, the agents and the relay): a value
// the chart renders but the parser refuses makes the webhook or relay exit at start after
// a clean `helm install` (a crash loop). The chart refuses, naming the value: the schema
// ($defs.centralHeader) the characters, the template (llmc.checkCentralHeaders) the names
// the agent and relay set themselves.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseOptions } from '../../src/options/define.ts';
import { header as headerParser } from '../../src/options/parsers.ts';
import { webhookOptionTable } from '../../webhook/webhook-command.ts';
import { CHART, helmHome, pool, renderChart } from './chart-render.ts';
import { relayStart } from './relay-start.ts';

const { home, dispose } = helmHome();
const dir = mkdtempSync(join(tmpdir(), 'llmc-headers-'));
after(() => {
  dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Names the agent and relay set themselves (the brief of this change; parsers.ts `header`). */
const RESERVED = [
  'host',
  'authorization',
  'content-length',
  'connection',
  'transfer-encoding',
  'expect',
  'keep-alive',
  'upgrade',
  'trailer',
  'te',
  'proxy-connection',
];
/** Mixed case: the rule is case-insensitive. */
const oddCase = (name: string) => [...name].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join('');

type Case = { header: string; refusedBy?: 'schema' | 'template'; family: string };
const CASES: Case[] = [
  // names that are not RFC 9110 tokens
  { family: 'name with a space', header: 'X Tenant: a', refusedBy: 'schema' },
  { family: 'name with parentheses', header: 'X-Tenant(1): a', refusedBy: 'schema' },
  { family: 'name with a non-ASCII letter', header: 'X-Tenänt: a', refusedBy: 'schema' },
  { family: 'no name', header: ': a', refusedBy: 'schema' },
  { family: 'no colon', header: 'X-Tenant a', refusedBy: 'schema' },
  // CR, LF, NUL
  { family: 'CR in the value', header: 'X-Tenant: a\rb', refusedBy: 'schema' },
  { family: 'LF in the value', header: 'X-Tenant: a\nb', refusedBy: 'schema' },
  { family: 'CRLF header injection', header: 'X-Tenant: a\r\nX-Admin: 1', refusedBy: 'schema' },
  { family: 'NUL in the value', header: 'X-Tenant: a\u0000b', refusedBy: 'schema' },
  // other characters outside [\t\x20-\x7e\x80-\xff]
  { family: 'a C0 control', header: 'X-Tenant: a\u0001b', refusedBy: 'schema' },
  { family: 'DEL', header: 'X-Tenant: a\u007fb', refusedBy: 'schema' },
  { family: 'U+0100', header: 'X-Tenant: \u0100', refusedBy: 'schema' },
  { family: 'the euro sign', header: 'X-Tenant: \u20ac', refusedBy: 'schema' },
  { family: 'LINE SEPARATOR', header: 'X-Tenant: a\u2028b', refusedBy: 'schema' },
  { family: 'an emoji', header: 'X-Tenant: \u{1f600}', refusedBy: 'schema' },
  // reserved names, any case
  ...RESERVED.map((name): Case => ({ family: `reserved ${name}`, header: `${oddCase(name)}: x`, refusedBy: 'template' })),
  { family: 'reserved name with spaces around it', header: ' Host : central.example', refusedBy: 'template' },
  // accepted
  { family: 'the documented example', header: 'X-Forwarded-Proto: https' },
  { family: 'Latin-1 (é is U+00E9)', header: 'X-Tenant: café' },
  { family: 'NBSP and ÿ (U+00A0, U+00FF)', header: 'X-Tenant: a\u00a0\u00ffb' },
  { family: 'a tab inside', header: 'X-Tenant: a\tb' },
  { family: 'an empty value', header: 'X-Empty:' },
  { family: 'every token character, a colon in the value', header: "X!#$%&'*+.^_`|~0-9: a:b" },
  { family: 'names that only contain a reserved one', header: 'X-Host: a' },
  { family: 'a reserved name as prefix', header: 'Hosts: a' },
  { family: 'TE as prefix', header: 'TE-Extra: a' },
];

/** A YAML double-quoted scalar holding exactly `text` (YAML files may not hold DEL or C1 raw). */
const yamlQuoted = (text: string) =>
  JSON.stringify(text).replace(/[^\x20-\x7e]/gu, (c) => {
    const code = c.codePointAt(0)!;
    return code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });

async function agentRender(header: string) {
  const file = join(dir, `agent-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `agent:\n  centralUrl: https://llm-config.example.internal\n  centralHeaders: [${yamlQuoted(header)}]\n`);
  const { result, objects } = await renderChart(home, ['-f', file, '--show-only', 'templates/deployment.yaml']);
  if (result.code !== 0) return { rendered: false, stderr: result.stderr, startError: undefined };
  const args: string[] = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args;
  let startError: string | undefined;
  try {
    parseOptions(webhookOptionTable, args.slice(1), {});
  } catch (error) {
    startError = (error as Error).message;
  }
  return { rendered: true, stderr: '', startError };
}

/** Rendered on first use (three helm processes at a time), so a filtered run renders nothing. */
let rendering: ReturnType<typeof renderAll> | undefined;
const runs = () => (rendering ??= renderAll());
const renderAll = () =>
  pool(
    CASES.flatMap((c) => [
      { ...c, key: 'agent.centralHeaders' },
      { ...c, key: 'relay.centralHeaders' },
    ]),
    3,
    async (c) => ({
      ...c,
      outcome:
        c.key === 'agent.centralHeaders'
          ? await agentRender(c.header)
          : await relayStart(home, `  centralHeaders: [${yamlQuoted(c.header)}]\n`),
    }),
  );

CASES.forEach(({ header, refusedBy, family }, index) => {
  for (const [offset, key] of ['agent.centralHeaders', 'relay.centralHeaders'].entries()) {
    test(`${key} ${JSON.stringify(header)} (${family}): ${refusedBy ? `refused by the ${refusedBy}` : 'rendered and parsed'}`, async () => {
      const { outcome } = (await runs())[index * 2 + offset]!;
      if (!refusedBy) {
        assert.ok(outcome.rendered, outcome.stderr);
        assert.equal(outcome.startError, undefined, 'rendered, then refused at start');
        return;
      }
      assert.ok(!outcome.rendered, `rendered${outcome.startError ? `, then refused at start: ${outcome.startError}` : ''}`);
      const printable = header.replace(/[^\x20-\x7e].*$/s, '');
      if (refusedBy === 'schema') {
        assert.match(outcome.stderr, new RegExp(`/${key.replace('.', '/')}/0': '`));
        assert.match(outcome.stderr, /does not match pattern/);
      } else {
        assert.match(outcome.stderr, new RegExp(`${key.replace('.', '\\.')}\\[0\\]=`));
        assert.match(outcome.stderr, /set by the agent and relay themselves or controls the connection/);
      }
      assert.ok(outcome.stderr.includes(printable), `the message names the value ${JSON.stringify(printable)}: ${outcome.stderr}`);
    });
  }
});

// The same rule without helm, on many generated headers: the schema's pattern (read from
// values.schema.json; ECMA-262 and Go's RE2 agree on it) and the template's name list
// (read from _helpers.tpl) never let through what the parser refuses, and refuse what it
// accepts only when the parser's trim() hides stray whitespace around the header.
const SEED = Number(process.env.LLM_CONFIG_TEST_SEED ?? Date.now());
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
// A chart without the definition (an older one) matches nothing: the tests below then fail.
const pattern = new RegExp(schema.$defs?.centralHeader?.pattern ?? '(?!)', 'u');
const helpers = readFileSync(join(CHART, 'templates', '_helpers.tpl'), 'utf8');
const templateReserved = [...(helpers.match(/\$reserved := list ([^}]*)\}\}/)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
const chartAccepts = (h: string) => pattern.test(h) && !templateReserved.includes(h.split(':')[0]!.trim().toLowerCase());
const parserAccepts = (h: string) => {
  try {
    headerParser.parse(h);
    return true;
  } catch {
    return false;
  }
};

test("the template's reserved names are this test's list", () => {
  assert.deepEqual(templateReserved, RESERVED);
  for (const name of RESERVED) assert.ok(pattern.test(`${name}: x`), 'reserved names are tokens: the template sees them');
});

test("the refused names are the parser's", () => {
  for (const name of RESERVED) assert.throws(() => headerParser.parse(`${oddCase(name)}: x`), `the parser accepts ${name}`);
  assert.doesNotThrow(() => headerParser.parse('X-Host: x'));
});

test('chart and parser agree on generated headers (property)', (t) => {
  const odd = [
    '\r',
    '\n',
    '\u0000',
    '\u0001',
    '\u007f',
    '\u0080',
    '\u00a0',
    'é',
    '\u00ff',
    '\u0100',
    '€',
    '\u2028',
    '\u{1f600}',
    '"',
    '(',
    '/',
  ];
  const tokenName = fc.constantFrom('X-Tenant', 'a', '~-', 'X-Host', ...RESERVED.map(oddCase));
  const badName = fc.array(fc.constantFrom('X-Tenant', ' ', '\t', ...odd), { minLength: 1, maxLength: 3 }).map((p) => p.join(''));
  const name = fc.oneof({ weight: 4, arbitrary: tokenName }, { weight: 1, arbitrary: badName });
  const value = fc.array(
    fc.oneof({ weight: 6, arbitrary: fc.constantFrom('https', 'a b', ' ', '\t', ':', '~', 'é') }, fc.constantFrom(...odd)),
    {
      maxLength: 4,
    },
  );
  const structured = fc.tuple(name, fc.constantFrom(':', ': ', ' : ', '', '::'), value).map(([n, colon, v]) => `${n}${colon}${v.join('')}`);
  const anyText = fc.string({ unit: 'binary', maxLength: 12 });
  const headers = fc.oneof(structured, anyText);
  let accepted = 0;
  try {
    fc.assert(
      fc.property(headers, (h) => {
        if (chartAccepts(h)) {
          accepted++;
          assert.ok(parserAccepts(h), `the chart accepts ${JSON.stringify(h)}, the parser refuses it`);
        }
        if (!parserAccepts(h)) return;
        // The parser trims name and value (so it takes "X-A:\nb" as "X-A: b"); the chart
        // wants the header written as the parser reads it.
        const [name, value] = headerParser.parse(h);
        assert.ok(
          chartAccepts(`${name}: ${value}`),
          `the chart refuses ${JSON.stringify(`${name}: ${value}`)}, the parser's reading of ${JSON.stringify(h)}`,
        );
      }),
      { seed: SEED, numRuns: 5000 },
    );
  } catch (error) {
    t.diagnostic(`seed ${SEED} (re-run with LLM_CONFIG_TEST_SEED=${SEED})`);
    throw error;
  }
  t.diagnostic(`seed ${SEED}: ${accepted} generated headers accepted by both`);
  assert.ok(accepted > 250, 'enough accepted headers for the property to say something');
});
