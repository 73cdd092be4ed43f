// Security checks: hostile keys and paths on the local API, loopback-only defaults, no
// configuration value in logs, metrics or status, and the production dependency audit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { REPO, spawnCli, startCentral, tempDir, waitFor } from '../helpers/cli-process.ts';
import { get, rawRequest } from '../helpers/raw-http.ts';
import { agentOptionTable } from '../../agent/agent-options.ts';
import { listenAddress } from '../../src/options/parsers.ts';

const run = promisify(execFile);
const SECRETISH = 'cfg-SEED-VALUE-5d1e77';

test('the local API is bound to loopback by default; only the admin address listens wider, and it serves no value', () => {
  assert.equal(listenAddress.parse(agentOptionTable.httpAddr.defaultText!).host, '127.0.0.1');
  assert.equal(agentOptionTable.requireRequestHeader.defaultText, 'auto');
});

test('hostile keys and paths: ../, NUL, absolute and over-long names are answered 4xx JSON and touch no file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'seed.yaml'), `development:\n  ml-service:\n    model: "${SECRETISH}"\n`);
  const { url } = await startCentral(t, ['--seed', join(dir, 'seed.yaml')]);
  const agent = spawnCli(t, [
    'agent',
    '--central-url',
    url,
    '--namespaces',
    'ml-service',
    '--output-dir',
    join(dir, 'files'),
    '--cache-dir',
    join(dir, 'cache'),
    '--http-addr',
    '127.0.0.1:0',
    '--admin-addr',
    '127.0.0.1:0',
    '--socket',
    'off',
    '--log-level',
    'debug',
  ]);
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
    const answer = await rawRequest(target, get(path));
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
