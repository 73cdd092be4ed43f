import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions, formatHelp, envName, flagName, option, optional, repeatable, flag } from '../../src/options/define.ts';
import * as p from '../../src/options/parsers.ts';
import { InvalidSettingError, UsageError } from '../../src/errors.ts';
import { syncOptionTable } from '../../src/options/sync-options.ts';
import { validateSyncOptions } from '../../src/sync/sync-context.ts';

const table = {
  pollInterval: option(p.duration({ min: 1000 }), '30s', 'poll'),
  namespaces: optional(p.namespaceList, 'ns'),
  centralHeader: repeatable(p.header, 'headers'),
  allowStale: flag(p.boolean, 'false', 'stale'),
};

test('flag and environment names derive from the option key', () => {
  assert.equal(flagName('centralUrl'), 'central-url');
  assert.equal(envName('centralUrl'), 'LLM_CONFIG_CENTRAL_URL');
});

test('defaults go through the parser; flags win over the environment, which wins over defaults', () => {
  assert.deepEqual(
    { ...parseOptions(table, [], {}) },
    { pollInterval: 30_000, namespaces: undefined, centralHeader: [], allowStale: false },
  );
  const env = { LLM_CONFIG_POLL_INTERVAL: '5m', LLM_CONFIG_ALLOW_STALE: 'true', LLM_CONFIG_CENTRAL_HEADER: 'A: 1\nB: 2' };
  assert.deepEqual(
    { ...parseOptions(table, [], env) },
    {
      pollInterval: 300_000,
      namespaces: undefined,
      centralHeader: [
        ['A', '1'],
        ['B', '2'],
      ],
      allowStale: true,
    },
  );
  const cli = ['--poll-interval', '1m30s', '--no-allow-stale', '--central-header', 'X-Forwarded-Proto: https', '--namespaces', 'a, b/c,a'];
  assert.deepEqual(
    { ...parseOptions(table, cli, env) },
    {
      pollInterval: 90_000,
      namespaces: ['a', 'b/c'],
      centralHeader: [['X-Forwarded-Proto', 'https']],
      allowStale: false,
    },
  );
});

test('parsed options are frozen', () => {
  const options = parseOptions(table, [], {});
  assert.ok(Object.isFrozen(options));
  assert.ok(Object.isFrozen(options.centralHeader));
});

test('an invalid value names the setting, the value and what is accepted', () => {
  const cases: Array<[string[], Record<string, string>, string]> = [
    [['--poll-interval=abc'], {}, '--poll-interval=abc: not a duration (e.g. 30s, 5m, 1h30m, 250ms)'],
    [[], { LLM_CONFIG_POLL_INTERVAL: '10ms' }, 'LLM_CONFIG_POLL_INTERVAL=10ms: out of range (1000ms to 2147483647ms)'],
    [
      ['--namespaces', 'ok,../etc'],
      {},
      '--namespaces=ok,../etc: "../etc" is not a namespace (letters, digits, ".", "_", "-", levels joined by "/", at most 253 characters)',
    ],
    [['--central-header', 'Host: evil'], {}, '--central-header=Host: evil: Host is set by the agent itself and cannot be overridden'],
    [['--central-header', 'no colon'], {}, "--central-header=no colon: not a header (NAME: VALUE, e.g. 'X-Forwarded-Proto: https')"],
    // Node's and undici's clients refuse such values on every request: refused here, once, by name.
    [
      ['--central-header', 'X-Tenant: a\u0007b'],
      {},
      '--central-header="X-Tenant: a\\u0007b": a header value holds tabs, spaces and visible characters (U+0020–U+007E, U+0080–U+00FF) only',
    ],
    [
      ['--central-header', 'X-Tenant: caf\u00e9 \u2603'],
      {},
      '--central-header=X-Tenant: caf\u00e9 \u2603: a header value holds tabs, spaces and visible characters (U+0020–U+007E, U+0080–U+00FF) only',
    ],
    [
      ['--central-header', 'Expect: 100-continue'],
      {},
      '--central-header=Expect: 100-continue: Expect controls the connection, not the request; it cannot be sent as an extra header',
    ],
    [
      ['--central-header', 'te: trailers'],
      {},
      '--central-header=te: trailers: te controls the connection, not the request; it cannot be sent as an extra header',
    ],
    [
      [],
      { LLM_CONFIG_POLL_INTERVAL: '\u001b[31mred' },
      'LLM_CONFIG_POLL_INTERVAL="\\u001b[31mred": not a duration (e.g. 30s, 5m, 1h30m, 250ms)',
    ],
  ];
  for (const [argv, env, message] of cases) {
    assert.throws(
      () => parseOptions(table, argv, env),
      (error: unknown) => {
        assert.ok(error instanceof InvalidSettingError);
        assert.equal(error.code, 'LLMC_ERR_INVALID_SETTING');
        assert.equal(error.message, message);
        return true;
      },
    );
  }
});

test('unknown flags are usage errors', () => {
  assert.throws(
    () => parseOptions(table, ['--bogus'], {}),
    (error: unknown) => error instanceof UsageError && error.code === 'LLMC_ERR_USAGE',
  );
});

test('parser table: environments, URLs, addresses, modes, durations', () => {
  assert.equal(p.environment.parse('PROD'), 'production');
  assert.equal(p.environment.parse('Stage'), 'staging');
  assert.throws(() => p.environment.parse(' prod'), /not an environment/);
  assert.equal(p.httpUrl.parse('https://config.example:8443/base').pathname, '/base');
  assert.throws(() => p.httpUrl.parse('ftp://x'), /http:\/\/ or https:\/\//);
  assert.throws(() => p.httpUrl.parse('https://u:pw@x'), /credentials/);
  assert.deepEqual(p.listenAddress.parse('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(p.listenAddress.parse('0.0.0.0:9102'), { host: '0.0.0.0', port: 9102 });
  assert.throws(() => p.listenAddress.parse('8080'), /HOST:PORT/);
  assert.throws(() => p.listenAddress.parse('x:70000'), /HOST:PORT/);
  assert.equal(p.fileMode.parse('0440'), 0o440);
  assert.throws(() => p.fileMode.parse('0999'), /octal/);
  assert.equal(p.durationOrNever.parse('never'), Number.POSITIVE_INFINITY);
  assert.equal(p.duration().parse('250ms'), 250);
  assert.equal(p.duration().parse('1h30m'), 5_400_000);
  assert.throws(() => p.boolean.parse('maybe'), /not a boolean/);
});

test('help lists every flag with its environment variable and default', () => {
  const help = formatHelp('Usage: x', 'summary', syncOptionTable);
  for (const key of Object.keys(syncOptionTable)) assert.match(help, new RegExp(`--(\\[no-\\])?${flagName(key)}`));
  assert.match(help, /LLM_CONFIG_POLL_INTERVAL; default 30s/);
});

test('cross-option validation: namespaces required, mTLS pair, namespace file collisions', () => {
  const base = (argv: string[]) => parseOptions(syncOptionTable, argv, {});
  assert.throws(() => validateSyncOptions(base([])), /--namespaces=: required/);
  assert.throws(() => validateSyncOptions(base(['--namespaces', 'a', '--client-cert', 'c.pem'])), /--client-key=: required together/);
  assert.throws(() => validateSyncOptions(base(['--namespaces', 'a/b,a.b'])), /both namespaces map to the file a.b.json/);
  assert.doesNotThrow(() => validateSyncOptions(base(['--namespaces', 'a/b,c'])));
});
