// Rendered files end to end: named files in several formats, the SIGKILL crash test,
// and change notification through the real agent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chmod, chown, mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseYaml } from 'yaml';
import fc from 'fast-check';
import { CliProcess, spawnCli, startCentral, tempDir, waitFor, writeValue, type TestContextLike } from '../helpers/cli-process.ts';
import { SEED, seedNote } from '../property/fc-seed.ts';

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

// Six agent starts: on a loaded machine (load ~16 on 2 cores) that alone takes over a minute.
test('SIGKILL at random moments during a burst: every visible file is from one revision, and the next start is warm', {
  timeout: 300_000,
}, async (t) => {
  const { dir, url, common, agentArgs } = await setUp(t);
  t.diagnostic(seedNote);
  // How many publishes of each round's burst to let through before the kill (1..5), seeded.
  const killAfter = fc.sample(fc.integer({ min: 1, max: 5 }), { seed: SEED, numRuns: 6 });
  assert.equal(await new CliProcess(['init', ...common]).exitCode(), 0);
  let rev = 0;
  for (let round = 0; round < 6; round++) {
    const agent = spawnCli(t, agentArgs(['--log-level', 'info']));
    await agent.waitForLog((l) => l.msg === 'watch stream connected');
    const startRevision = Math.max(0, ...agent.logs.filter((l) => l.msg === 'files updated').map((l) => Number(l.revision)));
    if (round > 0)
      assert.ok(
        agent.logs.some((l) => l.msg === 'started warm from snapshot'),
        'warm start from the snapshot',
      );
    let writing = true;
    const writer = (async () => {
      while (writing) await writeValue(url, 'burst', 'rev', String(++rev));
    })();
    // Kill after a random number (1..5) of publishes of this burst, not after a time:
    // the writer is still writing then, so the kill lands in the middle of file swaps.
    const publishes = killAfter[round]!;
    const published = () => agent.logs.filter((l) => l.msg === 'files updated' && Number(l.revision) > startRevision).length;
    await waitFor(
      () => published() >= publishes || undefined,
      undefined,
      () => `${publishes} publishes in round ${round}`,
    );
    agent.child.kill('SIGKILL');
    await agent.exited;
    writing = false;
    await writer;
    const seen = await revisionsOnDisk(dir);
    const values = new Set(Object.values(seen));
    assert.equal(values.size, 1, `round ${round}: files from different revisions: ${JSON.stringify(seen)}; ${seedNote}`);
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
  // A window wide enough that five writes land in it even on a loaded machine.
  const agent = spawnCli(t, agentArgs(['--reload-url', reloadUrl, '--notify-debounce', '3s']));
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  // The cold start wrote the files (revision 1): wait for that notification, not for a time.
  await agent.waitForLog((l) => l.msg === 'app notified (reload URL)' && l.revision === 1);
  const before = calls.length;
  // Sent together, so the five changes reach the agent as close together as they can.
  await Promise.all([1, 2, 3, 4, 5].map((i) => writeValue(url, 'burst', 'rev', `b${i}`)));
  // Notifications are sent one after another, so once revision 6 (the last write) is
  // notified, every notification of the burst has been received.
  await agent.waitForLog((l) => l.msg === 'app notified (reload URL)' && l.revision === 6);
  assert.deepEqual(calls.slice(before), [{ revision: 6 }], `calls: ${JSON.stringify(calls)}`);
});

test('render errors keep the previous file and show in /v1/status; the others still update', async (t) => {
  const { url, dir, common, agentArgs } = await setUp(t);
  assert.equal(await new CliProcess(['init', ...common]).exitCode(), 0);
  const agent = spawnCli(t, agentArgs());
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  await writeValue(url, 'burst', 'rev', "it's $5"); // no .env quoting survives both sh and dotenv
  await waitFor(async () => ((await readFile(join(dir, 'files', 'rev.txt'), 'utf8')) === "it's $5" ? true : undefined));
  assert.equal(parseDotenv(await readFile(join(dir, 'files', 'app.env'), 'utf8')).REV, '0', 'app.env kept its previous content');
  // The status is updated once the whole publish is done, a moment after the files move.
  const status = await waitFor(async () => {
    const s = (await (await fetch(`http://${String(started.http)}/v1/status`)).json()) as { files: { renderErrors: string[] } };
    return s.files.renderErrors.length > 0 ? s : undefined;
  });
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

// Apps that run as another uid than the agent (SPEC §5). The tests run as root, so the
// app is a child process with another uid/gid; the agent runs as root here, which does
// not matter: what decides is the mode and group of each file and of the socket.
const APP_UID = 4242;
const FS_GROUP = 4343;

type Read = { code: number | null; stdout: string; stderr: string };
async function readAs(uid: number, gid: number, command: string, args: string[]): Promise<Read> {
  const child = spawn(command, args, { uid, gid, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

async function readableSetUp(t: TestContextLike, fsGroup: number | undefined) {
  const { dir, url } = await setUp(t);
  await chmod(dir, 0o755); // mkdtemp made it 0700: let the app's uid walk in, as into a pod volume
  const files = join(dir, 'files');
  const run = join(dir, 'run');
  for (const volume of [files, run]) {
    await mkdir(volume);
    if (fsGroup === undefined)
      await chmod(volume, 0o777); // an emptyDir without fsGroup
    else {
      await chown(volume, 0, fsGroup); // what kubelet does for fsGroup: group-owned, setgid
      await chmod(volume, 0o2775);
    }
  }
  const args = (command: string, more: string[]) => [
    command,
    '--central-url',
    url,
    '--namespaces',
    'burst',
    '--output-dir',
    files,
    '--cache-dir',
    join(dir, 'cache'),
    '--files',
    JSON.stringify([
      { name: 'app.env', source: 'burst', format: 'env' },
      { name: 'rev.txt', source: 'burst/rev', mode: '0400' },
      { name: 'all.json', source: 'burst', mode: '0440' },
    ]),
    ...more,
  ];
  return { files, socket: join(run, 'agent.sock'), args };
}

test('--readable-by=all (pods without fsGroup): another uid reads every file, 0400 included, and uses the 0666 socket', async (t) => {
  const { files, socket, args } = await readableSetUp(t, undefined);
  const init = new CliProcess(args('init', ['--readable-by', 'all']));
  assert.equal(await init.exitCode(), 0, init.stderrText.join('\n'));
  const agent = spawnCli(
    t,
    args('agent', ['--readable-by', 'all', '--http-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--socket', socket]),
  );
  await agent.waitForLog((l) => l.msg === 'agent started');
  for (const name of ['app.env', 'rev.txt', 'all.json']) {
    assert.equal((await stat(join(files, name))).mode & 0o777, 0o444, name);
    const read = await readAs(APP_UID, APP_UID, 'cat', [join(files, name)]);
    assert.equal(read.code, 0, `${name}: ${read.stderr}`);
  }
  assert.equal((await stat(socket)).mode & 0o777, 0o666);
  const curl = await readAs(APP_UID, APP_UID, 'curl', ['-sS', '--unix-socket', socket, 'http://agent/v1/values/burst/fixed']);
  assert.equal(curl.stdout, 'x', curl.stderr);
});

test('--readable-by=group (the default, pods with fsGroup): a member of the group reads the files and uses the socket; others cannot', async (t) => {
  const { files, socket, args } = await readableSetUp(t, FS_GROUP);
  const init = new CliProcess(args('init', []));
  assert.equal(await init.exitCode(), 0, init.stderrText.join('\n'));
  const agent = spawnCli(t, args('agent', ['--http-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--socket', socket]));
  await agent.waitForLog((l) => l.msg === 'agent started');
  for (const name of ['app.env', 'all.json']) {
    const info = await stat(join(files, name));
    assert.equal(info.mode & 0o777, 0o440, name);
    assert.equal(info.gid, FS_GROUP, `${name} belongs to the fsGroup`);
    assert.equal((await readAs(APP_UID, FS_GROUP, 'cat', [join(files, name)])).code, 0, `${name}: group member reads`);
    assert.notEqual((await readAs(APP_UID, APP_UID, 'cat', [join(files, name)])).code, 0, `${name}: outsider does not`);
  }
  assert.notEqual((await readAs(APP_UID, FS_GROUP, 'cat', [join(files, 'rev.txt')])).code, 0, '0400 is the owner only, as asked');
  const info = await stat(socket);
  assert.equal(info.mode & 0o777, 0o660);
  assert.equal(info.gid, FS_GROUP);
  const curl = await readAs(APP_UID, FS_GROUP, 'curl', ['-sS', '--unix-socket', socket, 'http://agent/v1/values/burst/fixed']);
  assert.equal(curl.stdout, 'x', curl.stderr);
  const outsider = await readAs(APP_UID, APP_UID, 'curl', ['-sS', '--unix-socket', socket, 'http://agent/v1/values/burst/fixed']);
  assert.notEqual(outsider.code, 0);
});

test('a directory planted at an output name: reported truly, nothing leaked per change, recovery once it is removed', async (t) => {
  const { url, dir, common, agentArgs } = await setUp(t);
  assert.equal(await new CliProcess(['init', ...common]).exitCode(), 0);
  const agent = spawnCli(t, agentArgs());
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  await agent.waitForLog((l) => l.msg === 'watch stream connected');
  const files = join(dir, 'files');
  const dataDirs = async () => (await readdir(files)).filter((n) => n.startsWith('..') && n !== '..data');
  const before = await readlink(join(files, '..data'));
  await rm(join(files, 'rev.txt'));
  await mkdir(join(files, 'rev.txt'));
  for (let i = 1; i <= 3; i++) await writeValue(url, 'burst', 'rev', `planted-${i}`);
  const status = await waitFor(async () => {
    const s = (await (await fetch(`http://${String(started.http)}/v1/status`)).json()) as {
      revision: number;
      files: { lastError: string | null };
    };
    return s.revision >= 4 && s.files.lastError?.includes('rev.txt is a directory') ? s : undefined;
  });
  assert.match(
    status.files.lastError!,
    /refused \(previous files kept, nothing written\): .*rev\.txt is a directory this agent did not create; remove it/,
  );
  const failure = await agent.waitForLog((l) => l.level === 'error' && String(l.err).includes('rev.txt is a directory'));
  assert.doesNotMatch(String(failure.msg), /previous files kept/, 'the message leaves that to err, which knows');
  assert.equal(await readlink(join(files, '..data')), before, '..data did not move');
  assert.deepEqual(await dataDirs(), [before], 'no data directory leaked per change');
  assert.equal(JSON.parse(await readFile(join(files, 'all.json'), 'utf8')).rev, '0', 'previous files kept, as reported');
  await rm(join(files, 'rev.txt'), { recursive: true });
  await writeValue(url, 'burst', 'rev', 'after');
  await waitFor(async () => ((await readFile(join(files, 'rev.txt'), 'utf8').catch(() => '')) === 'after' ? true : undefined));
  // the old data directory goes right after the swap: wait for it rather than race it
  await waitFor(
    async () => ((await dataDirs()).length === 1 ? true : undefined),
    undefined,
    () => 'one data directory',
  );
});
