// Optional subsystems load only when configured (issue 14): an agent with no Vault
// secret, template, YAML file or watched token file must not load node-vault (and its
// axios chain), handlebars (and source-map), yaml or chokidar; each costs RSS in every
// pod. The real agent runs with a test-only preload (test/helpers/module-recorder.ts)
// that lists every module Node loaded, `import` and `require` alike, when it exits.
// The second test configures each subsystem and sees its module loaded, which proves
// the recorder sees what the first test says is absent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defer } from '../helpers/cleanup.ts';
import { agentArgs, CliProcess, startCentral, tempDir, waitFor, type TestContextLike } from '../helpers/cli-process.ts';
import { VaultDouble } from '../helpers/vault-double.ts';

const RECORDER = join(import.meta.dirname, '..', 'helpers', 'module-recorder.ts');
const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const OPTIONAL = ['node-vault', 'axios', 'handlebars', 'source-map', 'yaml', 'chokidar'];

/** Package names (node_modules/<name>/…) among the module URLs the process loaded. */
function packagesIn(urls: string): Set<string> {
  const names = new Set<string>();
  for (const url of urls.split('\n')) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) names.add(match[1]!);
  }
  return names;
}

/** Runs the agent until its first files are written and one value is read, then stops it and returns the module URLs it loaded. */
async function modulesLoaded(t: TestContextLike, extra: string[], read: string): Promise<string> {
  const dir = await tempDir(t);
  const { url } = await startCentral(t, ['--seed', SEED]);
  const log = join(dir, 'modules.txt');
  const agent = new CliProcess(
    agentArgs({ url, namespaces: 'ml-service', dir, socket: 'off', extra }),
    { LLM_CONFIG_TEST_MODULE_LOG: log },
    ['--import', RECORDER],
  );
  defer(t, () => agent.stop());
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  await agent.waitForLog((l) => l.msg === 'files updated');
  const headers = { 'x-llm-config-request': 'true' };
  await waitFor(
    async () => ((await fetch(`http://${String(started.http)}${read}`, { headers })).status === 200 ? true : undefined),
    undefined,
    () => `${read} answered 200`,
  );
  assert.equal(await agent.stop(), 0);
  return readFile(log, 'utf8');
}

test('an agent with no Vault, template, YAML or token file loads none of their modules', async (t) => {
  const urls = await modulesLoaded(t, [], '/v1/values/ml-service/model');
  const loaded = packagesIn(urls);
  for (const name of ['pino', 'prom-client']) assert.ok(loaded.has(name), `the recorder saw ${name} (it sees packages)`);
  // The central client and the reload notifier speak HTTP with Node's own client (src/http/
  // node-http-transport.ts): undici loads node:http2 at import and a WebAssembly llhttp at the
  // first connection (+13 MiB); TLS only for an https central URL.
  assert.ok(!loaded.has('undici'), 'the agent loaded undici (only the relay uses it)');
  const lines = new Set(urls.split('\n'));
  assert.ok(lines.has('node-internal:http'), 'the recorder sees builtins');
  for (const builtin of ['http2', 'tls', 'https']) assert.ok(!lines.has(`node-internal:${builtin}`), `node:${builtin} loaded`);
  assert.deepEqual(
    OPTIONAL.filter((name) => loaded.has(name)),
    [],
    'optional subsystems loaded without being configured',
  );
  // src/lean/prom-client.ts: only the parts of prom-client in use, never its index (push
  // gateway, cluster) nor @opentelemetry/api.
  assert.ok(!loaded.has('@opentelemetry/api'), '@opentelemetry/api loaded (prom-client default CPU metric)');
  // agent/listeners.ts: no ES import of node:http, whose WebSocket export loads Node's bundled undici.
  for (const index of ['/node_modules/prom-client/index.js', 'node-internal:internal/deps/undici/undici'])
    assert.ok(!urls.includes(index), `${index} loaded`);
});

test('each optional subsystem loads once it is configured', async (t) => {
  const dir = await tempDir(t);
  const vault = new VaultDouble();
  vault.roles.set('apps', { jwt: 'sa-jwt', paths: ['secret/apps/'] });
  vault.setSecret('secret/apps/db', { password: 'p', user: 'app' });
  await vault.start();
  defer(t, () => vault.stop());
  await writeFile(join(dir, 'jwt'), 'sa-jwt');
  const files = JSON.stringify([
    { name: 'ml.yaml', source: 'ml-service' },
    { name: 'ml.txt', source: 'ml-service', template: 'model={{model}}' },
  ]);
  const loaded = packagesIn(
    await modulesLoaded(
      t,
      [
        ...['--files', files, '--vault-addr', vault.url, '--vault-role', 'apps', '--vault-jwt-file', join(dir, 'jwt')],
        ...['--vault-secret', 'db=secret/apps/db'],
      ],
      '/v1/values/vault/db',
    ),
  );
  assert.deepEqual(
    OPTIONAL.filter((name) => !loaded.has(name)),
    [],
    'configured subsystems whose modules were not seen',
  );
});
