// Rendered files end to end: named files in several formats, the SIGKILL crash test,
// and change notification through the real agent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseYaml } from 'yaml';
import { CliProcess, spawnCli, startCentral, tempDir, waitFor, writeValue, type TestContextLike } from '../helpers/cli-process.ts';

const FILES = JSON.stringify([
  { name: 'all.json', source: 'burst' },
  { name: 'app.env', source: 'burst', format: 'env' },
  { name: 'rev.txt', source: 'burst/rev', mode: '0400' },
  { name: 'all.yaml', source: 'burst' },
  { name: 'app.conf', source: 'burst', template: 'rev={{rev}}\nfixed={{fixed}}\n' },
]);

async function setUp(t: TestContextLike) {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'seed.yaml'), 'development:\n  burst:\n    rev: "0"\n    fixed: "x"\n');
  const { url } = await startCentral(t, ['--seed', join(dir, 'seed.yaml')]);
  const common = [
    '--central-url',
    url,
    '--namespaces',
    'burst',
    '--output-dir',
    join(dir, 'files'),
    '--cache-dir',
    join(dir, 'cache'),
    '--files',
    FILES,
  ];
  const agentArgs = (more: string[] = []) => [
    'agent',
    ...common,
    '--http-addr',
    '127.0.0.1:0',
    '--admin-addr',
    '127.0.0.1:0',
    '--socket',
    join(dir, 'agent.sock'),
    ...more,
  ];
  return { dir, url, common, agentArgs };
}

/** The `rev` each visible file shows, read the way an app would (through the symlinks). */
async function revisionsOnDisk(dir: string): Promise<Record<string, string>> {
  const f = (name: string) => readFile(join(dir, 'files', name), 'utf8');
  return {
    json: (JSON.parse(await f('all.json')) as { rev: string }).rev,
    env: parseDotenv(await f('app.env')).REV!,
    raw: await f('rev.txt'),
    yaml: (parseYaml(await f('all.yaml')) as { rev: string }).rev,
    template: /rev=(.*)/.exec(await f('app.conf'))![1]!,
  };
}

test('init renders every named file in its format and mode', async (t) => {
  const { dir, common } = await setUp(t);
  const init = new CliProcess(['init', ...common]);
  assert.equal(await init.exitCode(), 0, init.stderrText.join('\n'));
  assert.deepEqual(await revisionsOnDisk(dir), { json: '0', env: '0', raw: '0', yaml: '0', template: '0' });
  assert.equal(await readFile(join(dir, 'files', 'app.env'), 'utf8'), "FIXED='x'\nREV='0'\n");
  const { stat } = await import('node:fs/promises');
  assert.equal((await stat(join(dir, 'files', 'rev.txt'))).mode & 0o777, 0o400);
  assert.equal((await stat(join(dir, 'files', 'app.env'))).mode & 0o777, 0o440);
});

test('SIGKILL at random moments during a burst: every visible file is from one revision, and the next start is warm', async (t) => {
  const { dir, url, common, agentArgs } = await setUp(t);
  assert.equal(await new CliProcess(['init', ...common]).exitCode(), 0);
  let rev = 0;
  for (let round = 0; round < 6; round++) {
    const agent = spawnCli(t, agentArgs(['--log-level', 'info']));
    await agent.waitForLog((l) => l.msg === 'watch stream connected');
    if (round > 0)
      assert.ok(
        agent.logs.some((l) => l.msg === 'started warm from snapshot'),
        'warm start from the snapshot',
      );
    let writing = true;
    const writer = (async () => {
      while (writing) await writeValue(url, 'burst', 'rev', String(++rev));
    })();
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
    agent.child.kill('SIGKILL');
    await agent.exited;
    writing = false;
    await writer;
    const seen = await revisionsOnDisk(dir);
    const values = new Set(Object.values(seen));
    assert.equal(values.size, 1, `round ${round}: files from different revisions: ${JSON.stringify(seen)}`);
    t.diagnostic(`round ${round}: killed at rev ${rev}, files show ${[...values][0]}`);
  }
});

test('a reload receiver is called exactly once for a burst within the debounce window', async (t) => {
  const { url, agentArgs } = await setUp(t);
  const calls: Array<{ revision: number }> = [];
  const receiver = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    calls.push(JSON.parse(body) as { revision: number });
    res.writeHead(204).end();
  }).listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  t.after(() => receiver.close());
  const reloadUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/-/reload`;
  const agent = spawnCli(t, agentArgs(['--reload-url', reloadUrl, '--notify-debounce', '700ms']));
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  await new Promise((r) => setTimeout(r, 900)); // let the start-up write's notification (if any) pass
  const before = calls.length;
  for (let i = 1; i <= 5; i++) await writeValue(url, 'burst', 'rev', `b${i}`);
  await waitFor(() => (calls.length > before ? true : undefined), 5000);
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(calls.length - before, 1, `calls: ${JSON.stringify(calls)}`);
  const status = (await agent.waitForLog((l) => l.msg === 'app notified (reload URL)' && (l.revision as number) >= 6)) as {
    revision: number;
  };
  assert.equal(calls.at(-1)!.revision, status.revision);
});

test('render errors keep the previous file and show in /v1/status; the others still update', async (t) => {
  const { url, dir, common, agentArgs } = await setUp(t);
  assert.equal(await new CliProcess(['init', ...common]).exitCode(), 0);
  const agent = spawnCli(t, agentArgs());
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  await writeValue(url, 'burst', 'rev', "it's $5"); // no .env quoting survives both sh and dotenv
  await waitFor(async () => ((await readFile(join(dir, 'files', 'rev.txt'), 'utf8')) === "it's $5" ? true : undefined), 5000);
  assert.equal(parseDotenv(await readFile(join(dir, 'files', 'app.env'), 'utf8')).REV, '0', 'app.env kept its previous content');
  const status = (await (await fetch(`http://${String(started.http)}/v1/status`)).json()) as { files: { renderErrors: string[] } };
  assert.deepEqual(status.files.renderErrors, [
    'app.env: key "rev": a value with both \' and one of " $ ` \\ has no quoting that sh and dotenv read alike; use json or yaml',
  ]);
  assert.equal(agent.logs.filter((l) => l.msg === 'file not rendered; keeping its previous content').length, 1);
});

test('bad --files is refused at start with one line', async (t) => {
  const { url } = await setUp(t);
  const bad = new CliProcess(['init', '--central-url', url, '--namespaces', 'burst', '--files', '[{"name":"../x","source":"burst"}]']);
  assert.equal(await bad.exitCode(), 2);
  assert.deepEqual(bad.stderrText, [
    'llm-config init: --files=[{"name":"../x","source":"burst"}]: entry 1 ("../x"): name must be a plain file name: no "/", no leading ".", at most 255 bytes',
  ]);
});
