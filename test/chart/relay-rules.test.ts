// Rules across relay values that the relay enforces at start, checked by the chart so
// that a value it renders never makes every replica exit (a crash loop after a clean
// install): each case renders and then passes the relay's own option parser and
// cross-option check, or is refused by helm with a message naming the value.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions } from '../../src/options/define.ts';
import { syncOptionTable } from '../../src/options/sync-options.ts';
import { relayOptionTable, validateRelayOptions } from '../../relay/relay-options.ts';
import { helmHome, pool } from './chart-render.ts';
import { relayStart } from './relay-start.ts';

const { home, dispose } = helmHome();
after(dispose);

type Spec = { defaultText: string | undefined; parser: { parse(raw: string): unknown } };
const relayTable = relayOptionTable as Record<string, Spec>;
const defaultMs = (spec: Spec) => spec.parser.parse(spec.defaultText!) as number;
const BASE_DEFAULT = defaultMs(relayTable.backoffBase!);
const MAX_DEFAULT = defaultMs(relayTable.backoffMax!);

/** Whether `llm-config relay` itself starts with these flags (beside a central URL). */
function relayAccepts(flags: string[]): boolean {
  try {
    validateRelayOptions(parseOptions(relayOptionTable, ['--central-url=https://llm-config.example.internal', ...flags], {}));
    return true;
  } catch {
    return false;
  }
}

type Case = { what: string; values: string; flags: string[]; refused?: RegExp };
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const baseDefault = esc(`the relay's default --backoff-base (${relayTable.backoffBase!.defaultText})`);
const maxDefault = esc(`the relay's default --backoff-max (${relayTable.backoffMax!.defaultText})`);

// Item 2: backoffBase or backoffMax set alone is compared with the relay's default for the other.
const BACKOFF: Case[] = [
  { what: 'backoffBase at the default max', values: `  backoffBase: ${MAX_DEFAULT}ms\n`, flags: [`--backoff-base=${MAX_DEFAULT}ms`] },
  {
    what: 'backoffBase 1ms over the default max',
    values: `  backoffBase: ${MAX_DEFAULT + 1}ms\n`,
    flags: [`--backoff-base=${MAX_DEFAULT + 1}ms`],
    refused: new RegExp(`relay\\.backoffBase=${MAX_DEFAULT + 1}ms is longer than ${maxDefault}`),
  },
  {
    what: 'backoffBase 2m alone (the review case)',
    values: '  backoffBase: 2m\n',
    flags: ['--backoff-base=2m'],
    refused: new RegExp(`relay\\.backoffBase=2m is longer than ${maxDefault}`),
  },
  { what: 'backoffMax at the default base', values: `  backoffMax: ${BASE_DEFAULT}ms\n`, flags: [`--backoff-max=${BASE_DEFAULT}ms`] },
  {
    what: 'backoffMax 1ms under the default base',
    values: `  backoffMax: ${BASE_DEFAULT - 1}ms\n`,
    flags: [`--backoff-max=${BASE_DEFAULT - 1}ms`],
    refused: new RegExp(`${baseDefault} is longer than relay\\.backoffMax=${BASE_DEFAULT - 1}ms`),
  },
  {
    what: 'backoffMax 500ms alone (the review case)',
    values: '  backoffMax: 500ms\n',
    flags: ['--backoff-max=500ms'],
    refused: new RegExp(`${baseDefault} is longer than relay\\.backoffMax=500ms`),
  },
  { what: 'both, base under max', values: '  backoffBase: 2m\n  backoffMax: 3m\n', flags: ['--backoff-base=2m', '--backoff-max=3m'] },
  {
    what: 'both, base over max',
    values: '  backoffBase: 2s\n  backoffMax: 1s\n',
    flags: ['--backoff-base=2s', '--backoff-max=1s'],
    refused: /relay\.backoffBase=2s is longer than relay\.backoffMax=1s/,
  },
];

// pingInterval: agents drop a stream silent for their --heartbeat-timeout; the chart keeps
// the relay's pings at a third of the agents' default (the webhook passes none).
const HEARTBEAT = syncOptionTable.heartbeatTimeout as unknown as Spec;
const PING_CAP = defaultMs(HEARTBEAT) / 3;
const pingRefused = (raw: string) =>
  new RegExp(
    `relay\\.pingInterval=${esc(raw)} is over ${PING_CAP / 1000}s: agents drop a watch stream silent for their --heartbeat-timeout \\(${HEARTBEAT.defaultText}\\)`,
  );
const PING: Case[] = [
  { what: 'pingInterval at a third of the agents’ heartbeat timeout', values: `  pingInterval: ${PING_CAP}ms\n`, flags: [] },
  { what: 'pingInterval 1ms over it', values: `  pingInterval: ${PING_CAP + 1}ms\n`, flags: [], refused: pingRefused(`${PING_CAP + 1}ms`) },
  { what: 'pingInterval 24h', values: '  pingInterval: 24h\n', flags: [], refused: pingRefused('24h') },
];

// Item 4: Secrets the pods mount may not be the relay's own state Secret, whose writer
// (relay/state-secret.ts) keeps only saved states and deletes every other key.
const STATE_SECRET = 'llm-config-llm-config-injector-relay-state';
const stateRefused = (key: string) =>
  new RegExp(`${esc(key)}=${STATE_SECRET} is the relay's own state Secret \\(--state-secret\\).*deletes every other key`);
const MOUNTED: Case[] = [
  {
    what: 'stateKey.secretName',
    values: `  stateKey:\n    secretName: ${STATE_SECRET}\n    key: state.key\n`,
    flags: [],
    refused: stateRefused('relay.stateKey.secretName'),
  },
  { what: 'ca.secret', values: `  ca:\n    secret: ${STATE_SECRET}\n`, flags: [], refused: stateRefused('relay.ca.secret') },
  { what: 'clientCertSecret', values: `  clientCertSecret: ${STATE_SECRET}\n`, flags: [], refused: stateRefused('relay.clientCertSecret') },
  {
    what: 'upstreamTokenSecret',
    values: `  upstreamTokenSecret: ${STATE_SECRET}\n`,
    flags: [],
    refused: stateRefused('relay.upstreamTokenSecret'),
  },
  {
    what: 'a state key Secret whose name only starts like the state Secret',
    values: `  stateKey:\n    secretName: ${STATE_SECRET}-key\n    key: state.key\n`,
    flags: [],
  },
  {
    what: 'the state Secret name under ca.configMap (a ConfigMap: not written)',
    values: `  ca:\n    configMap: ${STATE_SECRET}\n`,
    flags: [],
  },
];

const CASES = [...BACKOFF, ...PING, ...MOUNTED];
let rendering: Promise<Awaited<ReturnType<typeof relayStart>>[]> | undefined;
const outcomes = () => (rendering ??= pool(CASES, 3, (c) => relayStart(home, c.values)));

CASES.forEach(({ what, values, flags, refused }, index) => {
  test(`${what}: ${refused ? 'refused by helm' : 'rendered, and the relay starts with it'}`, async () => {
    const outcome = (await outcomes())[index]!;
    if (refused) {
      assert.ok(
        !outcome.rendered,
        `rendered ${values.trim()}${outcome.startError ? `, then the relay refuses at start: ${outcome.startError}` : ''}`,
      );
      assert.match(outcome.stderr, refused);
      // Where the relay has a rule of its own, the chart draws the same line.
      if (flags.length > 0) assert.equal(relayAccepts(flags), false, `the relay itself accepts ${flags.join(' ')}`);
    } else {
      assert.ok(outcome.rendered, outcome.stderr);
      assert.equal(outcome.startError, undefined, `rendered, then the relay refuses at start: ${outcome.startError}`);
      if (flags.length > 0) assert.ok(relayAccepts(flags), `the relay refuses ${flags.join(' ')}`);
    }
  });
});

test('the state Secret rule follows the chart’s name for it (another release, fullnameOverride)', async () => {
  const [other, override] = await Promise.all([
    relayStart(home, '  clientCertSecret: team-a-llm-config-injector-relay-state\n', [
      '--set',
      'fullnameOverride=team-a-llm-config-injector',
    ]),
    relayStart(home, `  clientCertSecret: ${STATE_SECRET}\n`, ['--set', 'fullnameOverride=team-a-llm-config-injector']),
  ]);
  assert.ok(!other.rendered);
  assert.match(other.stderr, /relay\.clientCertSecret=team-a-llm-config-injector-relay-state is the relay's own state Secret/);
  assert.ok(override.rendered, `${STATE_SECRET} is not this release's state Secret: ${override.stderr}`);
});
