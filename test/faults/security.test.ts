// Security checks: hostile keys and paths on the local API, loopback-only defaults, no
// configuration value in logs, metrics or status, and the production dependency audit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { InvalidSettingError } from '../../src/errors.ts';
import { checkSocketDirectory } from '../../agent/listeners.ts';
import { agentArgs, CliProcess, REPO, spawnCli, startCentral, tempDir, waitFor } from '../helpers/cli-process.ts';
import { get, rawRequest } from '../helpers/raw-http.ts';
import { agentOptionTable } from '../../agent/agent-options.ts';
import { listenAddress } from '../../src/options/parsers.ts';
import { isLoopbackAddress, isLoopbackHost, isLoopbackOrigin } from '../../agent/local-api/loopback.ts';

const run = promisify(execFile);
const SECRETISH = 'cfg-SEED-VALUE-5d1e77';

test('the local API is bound to loopback by default; only the admin address listens wider, and it serves no value', () => {
  assert.equal(listenAddress.parse(agentOptionTable.httpAddr.defaultText!).host, '127.0.0.1');
  assert.equal(agentOptionTable.allowNonLoopback.defaultText, 'false');
  assert.equal(agentOptionTable.requireRequestHeader.defaultText, 'auto');
});

test('loopback names: what Host, Origin and --http-addr may carry', () => {
  for (const host of ['localhost', 'LocalHost:1', '127.0.0.1', '127.255.0.9:8080', '[::1]', '[::1]:80', '[0:0:0:0:0:0:0:1]:80'])
    assert.ok(isLoopbackHost(host), host);
  for (const host of [
    'evil.example',
    'localhost.',
    'localhost.evil.example',
    '127.0.0.1.nip.io',
    '0.0.0.0',
    '[::]',
    '10.0.0.1:80',
    '[::ffff:10.0.0.1]',
    '',
    'a:b:c',
  ])
    assert.ok(!isLoopbackHost(host), host);
  for (const origin of ['http://localhost:3000', 'https://127.0.0.1', 'http://[::1]:8080']) assert.ok(isLoopbackOrigin(origin), origin);
  for (const origin of ['null', 'http://evil.example', 'file:///etc/passwd', 'not a url', 'http://127.0.0.1.evil.example'])
    assert.ok(!isLoopbackOrigin(origin), origin);
  for (const address of ['127.0.0.1', 'localhost', '::1']) assert.ok(isLoopbackAddress(address), address);
  for (const address of ['0.0.0.0', '::', '10.1.2.3', 'example.com']) assert.ok(!isLoopbackAddress(address), address);
});

test('hostile keys and paths: ../, NUL, absolute and over-long names are answered 4xx JSON and touch no file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'seed.yaml'), `development:\n  ml-service:\n    model: "${SECRETISH}"\n`);
  const { url } = await startCentral(t, ['--seed', join(dir, 'seed.yaml')]);
  const agent = spawnCli(t, agentArgs({ url, namespaces: 'ml-service', dir, socket: 'off', extra: ['--log-level', 'debug'] }));
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  const [host, port] = String(started.http).split(':');
  const target = { kind: 'tcp' as const, host: host!, port: Number(port) };
  await waitFor(
    async () => ((await fetch(`http://${String(started.http)}/v1/values/ml-service/model`)).status === 200 ? true : undefined),
    5000,
  );
  const hostile = [
    '/api/v1/configs/..%2F..%2Fetc/passwd',
    '/api/v1/configs/ml-service/..%2F..%2F..%2Fetc%2Fpasswd',
    '/v1/values/%2Fetc%2Fpasswd/x',
    '/api/v1/configs/ml-service/a%00b',
    '/v1/values/ml-service/%00',
    `/api/v1/configs/ml-service/${'k'.repeat(3000)}`,
    '/api/v1/configs/../../etc/passwd',
    '/v1/values/ml-service/%ZZ',
  ];
  for (const path of hostile) {
    const answer = await rawRequest(target, get(path)); // the transport's own (loopback) Host, so the path is what is judged
    const status = Number(answer.slice(9, 12));
    assert.ok(status >= 400 && status < 500, `${path}: ${status}`);
    assert.doesNotMatch(answer, /root:x:0:0/);
    assert.match(answer, /content-type: application\/json/);
  }
  // No configuration value in logs, metrics or status.
  const admin = `http://${String(started.admin)}`;
  const places = {
    logs: agent.stderrText.join('\n'),
    metrics: await (await fetch(`${admin}/metrics`)).text(),
    status: await (await fetch(`http://${String(started.http)}/v1/status`)).text(),
  };
  for (const [place, text] of Object.entries(places))
    assert.equal(text.includes(SECRETISH), false, `${place} contains a configuration value`);
});

test('socket directory another uid can write: refused at start in one line naming --socket, the directory and why', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to give a directory to another uid');
  const dir = await tempDir(t);
  const dirWith = async (name: string, mode: number, uid = 0): Promise<string> => {
    const path = join(dir, name);
    await mkdir(path);
    await chmod(path, mode);
    await chown(path, uid, uid);
    return join(path, 'agent.sock');
  };
  const AGENT = 65532; // the agent's uid in the image; the test runs as root
  const refused = async (socket: string, why: RegExp): Promise<void> => {
    const error = await checkSocketDirectory(socket, AGENT).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof InvalidSettingError, `${socket} was accepted`);
    assert.match(error.message, why);
  };
  await refused(await dirWith('evil', 0o755, 1234), /owned by uid 1234, who could replace the socket/);
  await refused(await dirWith('evil-sticky', 0o1777, 1234), /owned by uid 1234/);
  await refused(await dirWith('ours-open', 0o777, AGENT), /is mode 0777: writable by group or others/);
  await refused(await dirWith('ours-group', 0o2770, AGENT), /is mode 2770/);
  const accepted = [
    await dirWith('ours', 0o700, AGENT),
    await dirWith('ours-readable', 0o755, AGENT),
    await dirWith('ours-sticky', 0o1777, AGENT),
    // The injected volume: kubelet makes an emptyDir 0777, or 2777 with fsGroup, owned by root.
    await dirWith('empty-dir', 0o777),
    await dirWith('empty-dir-fsgroup', 0o2777),
  ];
  for (const ok of accepted) await checkSocketDirectory(ok, AGENT);
  // The agent refuses at start, in one line, before anything listens.
  const { url } = await startCentral(t);
  const agent = new CliProcess(agentArgs({ url, namespaces: 'ml-service', dir, socket: join(dir, 'evil', 'agent.sock') }));
  assert.equal(await agent.exitCode(), 2);
  assert.match(
    agent.stderrText.at(-1)!,
    /^llm-config agent: --socket=.*\/evil\/agent\.sock: a path in a directory owned by this agent's uid \(0\) or root \(.*\/evil is owned by uid 1234, who could replace the socket and read the requests of its clients, tokens included\)$/,
  );
});

test('npm audit --omit=dev: no high or critical advisories', { timeout: 120_000 }, async (t) => {
  let output: string;
  try {
    ({ stdout: output } = await run('npm', ['audit', '--omit=dev', '--json'], { cwd: REPO, timeout: 100_000 }));
  } catch (error) {
    output = (error as { stdout?: string }).stdout ?? '';
    if (
      /audit endpoint returned an error|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|405/.test(
        `${output}${(error as { stderr?: string }).stderr ?? ''}`,
      )
    ) {
      return t.skip("the registry reachable from this machine refuses npm's advisory endpoint (405); run npm audit where it is served");
    }
  }
  const report = JSON.parse(output) as { metadata?: { vulnerabilities?: { high?: number; critical?: number } } };
  const counts = report.metadata?.vulnerabilities ?? {};
  t.diagnostic(`advisories: ${JSON.stringify(counts)}`);
  assert.equal((counts.high ?? 0) + (counts.critical ?? 0), 0);
});
