// End-to-end: the real CLI processes against the real reference central API on port 0.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, readlink } from 'node:fs/promises';
import { CliProcess, spawnCli, readJson, startCentral, tempDir, waitFor, writeValue } from '../helpers/cli-process.ts';
import { HostileCentral, entry, listsOnly } from '../helpers/hostile-central.ts';
import { defer } from '../helpers/cleanup.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');

function syncArgs(url: string, dir: string, more: string[] = []): string[] {
  return [
    '--central-url',
    url,
    '--namespaces',
    'ml-service,team/ml',
    '--output-dir',
    join(dir, 'files'),
    '--cache-dir',
    join(dir, 'cache'),
    '--backoff-base',
    '100ms',
    '--backoff-max',
    '1s',
    ...more,
  ];
}

/** The agent's own listeners on free ports and a per-test socket, so tests never collide. */
function agentArgs(url: string, dir: string, more: string[] = []): string[] {
  return [
    'agent',
    ...syncArgs(url, dir, ['--http-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--socket', join(dir, 'agent.sock'), ...more]),
  ];
}

async function fileValue(dir: string, file: string, key: string): Promise<unknown> {
  try {
    return ((await readJson(join(dir, 'files', file))) as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

test('init writes every namespace file and the snapshot, then exits 0', async (t) => {
  const dir = await tempDir(t);
  const { url } = await startCentral(t, ['--seed', SEED]);
  const init = new CliProcess(['init', ...syncArgs(url, dir)]);
  assert.equal(await init.exitCode(), 0, init.stderrText.join('\n'));
  assert.deepEqual(await readJson(join(dir, 'files', 'ml-service.json')), { model: 'gpt-4o-mini', temperature: 0.2, tags: ['a', 'b'] });
  assert.deepEqual(await readJson(join(dir, 'files', 'team.ml.json')), { owner: 'ml-platform' });
  assert.equal(await readlink(join(dir, 'files', 'ml-service.json')), '..data/ml-service.json');
  const snapshot = (await readJson(join(dir, 'cache', 'snapshot.json'))) as { format: string; environment: string };
  assert.equal(snapshot.format, 'llm-config-snapshot');
  assert.equal(snapshot.environment, 'development');
});

test('agent in stream mode: starts warm, applies a central write and a delete to the files', async (t) => {
  const dir = await tempDir(t);
  const { url } = await startCentral(t, ['--seed', SEED]);
  assert.equal(await new CliProcess(['init', ...syncArgs(url, dir)]).exitCode(), 0);
  const agent = spawnCli(t, agentArgs(url, dir));
  await agent.waitForLog((l) => l.msg === 'started warm from snapshot');
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  await writeValue(url, 'ml-service', 'model', 'gpt-5');
  await waitFor(
    async () => (await fileValue(dir, 'ml-service.json', 'model')) === 'gpt-5',
    undefined,
    () => 'model=gpt-5 in the file',
  );
  await fetch(`${url}/api/v1/configs/team%2Fml/owner?env=development`, { method: 'DELETE' });
  await waitFor(async () => JSON.stringify(await readJson(join(dir, 'files', 'team.ml.json'))) === '{}');
  assert.equal(await agent.stop(), 0);
  assert.ok(agent.logs.some((l) => l.msg === 'stopped'));
});

test('agent in poll mode: conditional polls (304) and a central write arrives', async (t) => {
  const dir = await tempDir(t);
  const { url, proc: central } = await startCentral(t, ['--seed', SEED]);
  const _agent = spawnCli(t, agentArgs(url, dir, ['--sync-mode', 'poll', '--poll-interval', '1s']));
  await waitFor(async () => (await fileValue(dir, 'ml-service.json', 'model')) === 'gpt-4o-mini');
  await central.waitForLog((l) => l.msg === 'request' && l.status === 304);
  await writeValue(url, 'ml-service', 'temperature', 0.9);
  await waitFor(async () => (await fileValue(dir, 'ml-service.json', 'temperature')) === 0.9);
});

test('against --upstream-strict: falls back to polling, sends the extra header, never rate limited or banned', async (t) => {
  const dir = await tempDir(t);
  const { url, proc: central } = await startCentral(t, ['--seed', SEED, '--upstream-strict']);
  const https = ['--central-header', 'X-Forwarded-Proto: https'];
  assert.equal(await new CliProcess(['init', ...syncArgs(url, dir, https)]).exitCode(), 0);
  const agent = spawnCli(t, agentArgs(url, dir, [...https, '--poll-interval', '1s']));
  await agent.waitForLog((l) => l.msg === 'no watch stream; polling');
  await writeValue(url, 'team/ml', 'owner', 'someone-else', 'development', { 'x-forwarded-proto': 'https' });
  await waitFor(async () => (await fileValue(dir, 'team.ml.json', 'owner')) === 'someone-else');
  // a few more poll cycles (waited for, not slept for)
  const requests = () => central.logs.filter((l) => l.msg === 'request').map((l) => l.status);
  const statuses = await waitFor(
    () => (requests().length >= 8 ? requests() : undefined),
    undefined,
    () => `8 requests, got ${requests().join(',')}`,
  );
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [400],
    'only the watch probe was refused (by the & filter)',
  );
});

test('a rotated token file is used on the next request', async (t) => {
  const dir = await tempDir(t);
  const tokens = join(dir, 'tokens');
  const { writeFile, mkdir, symlink, rename } = await import('node:fs/promises');
  // kubelet's projected-volume layout: token -> ..data/token, ..data -> ..v1
  await mkdir(join(tokens, '..v1'), { recursive: true });
  await writeFile(join(tokens, '..v1', 'token'), 'first-token');
  await symlink('..v1', join(tokens, '..data'));
  await symlink('..data/token', join(tokens, 'token'));
  const { url, proc: central } = await startCentral(t, ['--seed', SEED, '--auth-token', 'first-token', '--auth-token', 'second-token']);
  const _agent = spawnCli(t, agentArgs(url, dir, ['--sync-mode', 'poll', '--poll-interval', '1s', '--token-file', join(tokens, 'token')]));
  await central.waitForLog((l) => l.msg === 'request' && l.tokenIndex === 1);
  await mkdir(join(tokens, '..v2'));
  await writeFile(join(tokens, '..v2', 'token'), 'second-token');
  await symlink('..v2', join(tokens, '..data_tmp'));
  await rename(join(tokens, '..data_tmp'), join(tokens, '..data'));
  const rotatedAt = central.logs.length;
  await central.waitForLog((l) => l.msg === 'request' && l.tokenIndex === 2);
  assert.ok(
    central.logs.slice(rotatedAt).every((l) => l.msg !== 'request' || l.status !== 401),
    'no request was refused',
  );
});

test('bad settings exit 2 with one line naming the setting, the value and what is accepted', async () => {
  const cases: Array<[string[], Record<string, string>, string]> = [
    [
      ['agent', '--namespaces', 'a', '--poll-interval=abc'],
      {},
      'llm-config agent: --poll-interval=abc: not a duration (e.g. 30s, 5m, 1h30m, 250ms)',
    ],
    [
      ['init', '--namespaces', 'a'],
      { LLM_CONFIG_SYNC_MODE: 'push' },
      'llm-config init: LLM_CONFIG_SYNC_MODE=push: not one of stream, poll',
    ],
    [['init'], {}, 'llm-config init: --namespaces=: required: a comma-separated list of namespaces to sync'],
    [['agent', '--frobnicate'], {}, "llm-config agent: Unknown option '--frobnicate' (see --help)"],
  ];
  for (const [args, env, line] of cases) {
    const proc = new CliProcess(args, env);
    assert.equal(await proc.exitCode(), 2, args.join(' '));
    assert.deepEqual(proc.stderrText, [line]);
  }
  const help = new CliProcess(['agent', '--help']);
  assert.equal(await help.exitCode(), 0);
  assert.match(help.stdout, /--poll-interval DURATION\n\s+Poll interval/);
});

test('init with the central API down: one-line failure; --allow-stale starts from the snapshot', async (t) => {
  const dir = await tempDir(t);
  const { url, proc: central } = await startCentral(t, ['--seed', SEED]);
  assert.equal(await new CliProcess(['init', ...syncArgs(url, dir)]).exitCode(), 0);
  await central.stop();
  const failing = new CliProcess(['init', ...syncArgs(url, dir, ['--init-timeout', '1s'])]);
  assert.equal(await failing.exitCode(), 1);
  const last = failing.stderrText.at(-1)!;
  assert.match(
    last,
    /^llm-config init: could not fetch ml-service, team\/ml within 1s: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
  );
  const stale = new CliProcess(['init', ...syncArgs(url, dir, ['--init-timeout', '1s', '--allow-stale'])]);
  assert.equal(await stale.exitCode(), 0, stale.stderrText.join('\n'));
  assert.ok(stale.logs.some((l) => l.msg === 'central API unavailable; starting from the snapshot (--allow-stale)'));
  assert.equal(JSON.parse(await readFile(join(dir, 'files', 'ml-service.json'), 'utf8')).model, 'gpt-4o-mini');
});

test('issue 11 #1: a cold agent whose central API is unreachable is not ready and answers 503, never 200 []', async (t) => {
  const dir = await tempDir(t);
  const central = new HostileCentral(); // starts out dropping every connection
  await central.start();
  defer(t, () => central.stop());
  const agent = spawnCli(t, agentArgs(central.url, dir, ['--sync-mode', 'poll', '--poll-interval', '1s']));
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  const http = `http://${String(started.http)}`;
  const admin = `http://${String(started.admin)}`;
  await agent.waitForLog((l) => l.msg === 'sync failed; backing off');
  const readyz = await fetch(`${admin}/readyz`);
  assert.equal(readyz.status, 503, await readyz.text());
  const status = (await (await fetch(`${http}/v1/status`)).json()) as { ready: boolean; lastSuccess: unknown; loaded: string[] };
  assert.deepEqual([status.ready, status.lastSuccess, status.loaded], [false, null, []]);
  const list = await fetch(`${http}/api/v1/configs/ml-service`);
  assert.equal(list.status, 503);
  assert.ok(Number(list.headers.get('retry-after')) > 0, 'Retry-After on the 503');
  assert.match(((await list.json()) as { message: string }).message, /namespace "ml-service" is not loaded yet/);
  // One namespace answers (empty), the other still fails: that one loads, the agent is still not ready.
  central.behaviour = listsOnly({ 'ml-service': [] });
  await waitFor(async () => ((await fetch(`${http}/api/v1/configs/ml-service`)).status === 200 ? true : undefined));
  assert.equal(await (await fetch(`${http}/api/v1/configs/ml-service`)).text(), '[]');
  assert.equal((await fetch(`${http}/api/v1/configs/team%2Fml`)).status, 503);
  assert.equal((await fetch(`${admin}/readyz`)).status, 503);
  // Every namespace has loaded once: ready.
  central.behaviour = listsOnly({ 'ml-service': [], 'team/ml': [entry('team/ml', 'owner', 'me')] });
  await waitFor(
    async () => ((await fetch(`${admin}/readyz`)).status === 200 ? true : undefined),
    undefined,
    () => 'ready',
  );
  assert.equal(await (await fetch(`${http}/v1/values/team%2Fml/owner`)).text(), 'me');
});
