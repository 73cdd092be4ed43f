// Vault secrets end to end: the real agent against the Vault HTTP double and the
// reference central API. Token renewal and re-login, 403 naming path and role, Vault
// down and back, removal, and a grep for seeded secret values everywhere they must
// not appear.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { agentArgs, CliProcess, spawnCli, startCentral, tempDir, waitFor, type TestContextLike } from '../helpers/cli-process.ts';
import { VaultDouble } from '../helpers/vault-double.ts';
import { defer } from '../helpers/cleanup.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const SECRET = 's3cr3t-SEED-VALUE-7f3a9c';
const ROTATED = 'r0tated-SEED-VALUE-41be02';
const H = { 'x-llm-config-request': 'true' };

/** `--files` and the flags that read its Vault sources: a JWT login (the token in `dir/jwt`) as role apps. */
function vaultFileFlags(dir: string, files: string, vaultUrl: string): string[] {
  return ['--files', files, '--vault-addr', vaultUrl, '--vault-role', 'apps', '--vault-jwt-file', join(dir, 'jwt')];
}

async function setUp(t: TestContextLike, more: string[] = [], role = { jwt: 'sa-jwt', paths: ['secret/apps/'] }) {
  const dir = await tempDir(t);
  const vault = new VaultDouble();
  vault.roles.set('apps', role);
  vault.setSecret('secret/apps/db', { password: SECRET, user: 'app' });
  await vault.start();
  defer(t, () => vault.stop());
  await writeFile(join(dir, 'jwt'), 'sa-jwt');
  const { url } = await startCentral(t, ['--seed', SEED]);
  const files = JSON.stringify([
    { name: 'db.env', source: 'vault/db', format: 'env' },
    { name: 'ml-service.json', source: 'ml-service' },
  ]);
  const args = agentArgs({
    url,
    namespaces: 'ml-service',
    dir,
    socket: join(dir, 'agent.sock'),
    extra: [
      ...vaultFileFlags(dir, files, vault.url),
      '--vault-secret',
      'db=secret/apps/db',
      '--vault-poll-interval',
      '1s',
      '--backoff-base',
      '100ms',
      '--backoff-max',
      '500ms',
      ...more,
    ],
  });
  return { dir, vault, url, args };
}

async function startAgent(t: TestContextLike, args: string[]) {
  const agent = spawnCli(t, args);
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  return { agent, http: `http://${String(started.http)}`, admin: `http://${String(started.admin)}` };
}

test('secrets are served under namespace "vault" behind the SSRF guard, rendered to files, rotated and removed', async (t) => {
  const { dir, vault, args } = await setUp(t);
  const { http } = await startAgent(t, args);
  await waitFor(async () => ((await fetch(`${http}/v1/values/vault/db`, { headers: H })).status === 200 ? true : undefined));
  assert.equal((await fetch(`${http}/v1/values/vault/db`)).status, 403, 'SSRF guard on by default when secrets are served');
  assert.equal((await fetch(`${http}/v1/values/ml-service/model`)).status, 403, 'and for every value read');
  assert.deepEqual(await (await fetch(`${http}/v1/values/vault/db`, { headers: H })).json(), { password: SECRET, user: 'app' });
  // Files follow the store within milliseconds; wait for them rather than race them.
  await waitFor(async () =>
    (await readFile(join(dir, 'files', 'db.env'), 'utf8').catch(() => '')) === `PASSWORD='${SECRET}'\nUSER='app'\n` ? true : undefined,
  );
  vault.setSecret('secret/apps/db', { password: ROTATED, user: 'app' });
  await waitFor(async () => ((await readFile(join(dir, 'files', 'db.env'), 'utf8')).includes(ROTATED) ? true : undefined));
  vault.deleteSecret('secret/apps/db');
  await waitFor(async () => ((await fetch(`${http}/v1/values/vault/db`, { headers: H })).status === 404 ? true : undefined));
});

test('token renewal before expiry, re-login when renewal is refused', async (t) => {
  const { vault, args } = await setUp(t);
  vault.ttlSeconds = 2;
  const { agent } = await startAgent(t, args);
  await waitFor(
    () => (vault.count('/v1/auth/token/renew-self') >= 1 ? true : undefined),
    undefined,
    () => 'a renew-self call',
  );
  assert.equal(vault.count('/v1/auth/kubernetes/login'), 1);
  vault.refuseRenewal = true;
  await waitFor(
    () => (vault.count('/v1/auth/kubernetes/login') >= 2 ? true : undefined),
    undefined,
    () => 'a re-login',
  );
  assert.ok(agent.logs.some((l) => l.msg === 'Vault token renewal failed; logging in again'));
});

test('403 is reported naming the path and the role; values never appear in status', async (t) => {
  const { args } = await setUp(t, [], { jwt: 'sa-jwt', paths: ['secret/other/'] });
  const { http, admin } = await startAgent(t, args);
  const status = await waitFor(async () => {
    const s = (await (await fetch(`${http}/v1/status`)).json()) as { vault?: { lastError: string | null } };
    return s.vault?.lastError ? s : undefined;
  });
  assert.equal(
    (status as any).vault.lastError,
    'permission denied reading secret/metadata/apps/db (secret "db") with Vault role "apps": check the role\'s policy',
  );
  assert.equal((await fetch(`${admin}/readyz`)).status, 503, 'not ready without its secrets');
  assert.equal((status as { ready?: boolean }).ready, false, '/v1/status agrees with /readyz');
});

test('Vault down: last known good kept and served; back up: recovers', async (t) => {
  const { vault, args } = await setUp(t);
  const { http } = await startAgent(t, args);
  await waitFor(async () => ((await fetch(`${http}/v1/values/vault/db`, { headers: H })).status === 200 ? true : undefined));
  const port = vault.port;
  await vault.stop();
  await waitFor(
    async () => {
      const s = (await (await fetch(`${http}/v1/status`)).json()) as { vault: { failing: string[] } };
      return s.vault.failing.includes('db') ? true : undefined;
    },
    undefined,
    () => 'the failure to show in status',
  );
  assert.deepEqual(await (await fetch(`${http}/v1/values/vault/db`, { headers: H })).json(), { password: SECRET, user: 'app' });
  vault.setSecret('secret/apps/db', { password: ROTATED, user: 'app' });
  await vault.start(port);
  await waitFor(async () =>
    ((await (await fetch(`${http}/v1/values/vault/db`, { headers: H })).json()) as { password: string }).password === ROTATED
      ? true
      : undefined,
  );
});

test('seeded secret values appear in no log line, metrics scrape, status answer or unencrypted snapshot; a sealed snapshot serves them warm', async (t) => {
  const { dir, vault, args } = await setUp(t);
  const { agent, http, admin } = await startAgent(t, [...args, '--log-level', 'debug']);
  await waitFor(async () => ((await fetch(`${http}/v1/values/vault/db`, { headers: H })).status === 200 ? true : undefined));
  await waitFor(async () =>
    (await readFile(join(dir, 'cache', 'snapshot.json'), 'utf8').catch(() => '')).includes('ml-service') ? true : undefined,
  );
  const places = {
    logs: agent.stderrText.join('\n'),
    metrics: await (await fetch(`${admin}/metrics`)).text(),
    status: await (await fetch(`${http}/v1/status`)).text(),
    snapshot: await readFile(join(dir, 'cache', 'snapshot.json'), 'utf8'),
  };
  for (const [place, text] of Object.entries(places)) assert.equal(text.includes(SECRET), false, `${place} contains the secret`);
  assert.equal(places.snapshot.includes('"vault"'), false, 'no secret namespace in an unencrypted snapshot');
  await agent.stop();

  // With a key: sealed into the snapshot, and served from it while Vault is down.
  await writeFile(join(dir, 'snapshot.key'), randomBytes(32).toString('base64'));
  const sealedArgs = [...args, '--snapshot-key-file', join(dir, 'snapshot.key')];
  const first = await startAgent(t, sealedArgs);
  await waitFor(async () => ((await fetch(`${first.http}/v1/values/vault/db`, { headers: H })).status === 200 ? true : undefined));
  // files and snapshot of the revision that brought the secret are on disk
  await waitFor(async () => {
    const s = (await (await fetch(`${first.http}/v1/status`)).json()) as { revision: number; files: { publishedRevision: number } };
    return s.files.publishedRevision === s.revision ? true : undefined;
  });
  assert.ok((await readFile(join(dir, 'cache', 'snapshot.json'), 'utf8')).includes('"sealed"'));
  assert.equal((await readFile(join(dir, 'cache', 'snapshot.json'), 'utf8')).includes(SECRET), false, 'sealed, not plain');
  await first.agent.stop();
  await vault.stop();
  const warm = await startAgent(t, sealedArgs);
  assert.deepEqual(await (await fetch(`${warm.http}/v1/values/vault/db`, { headers: H })).json(), { password: SECRET, user: 'app' });
});

test('every render-error kind over seeded secrets: file, position and kind in init stderr, logs, status; the value nowhere', async (t) => {
  const dir = await tempDir(t);
  const vault = new VaultDouble();
  vault.roles.set('apps', { jwt: 'sa-jwt', paths: ['secret/apps/'] });
  vault.setSecret('secret/apps/db', { password: SECRET, list: [SECRET, ROTATED], nested: { inner: SECRET } });
  vault.setSecret('secret/apps/quotes', { quoted: `it's $${SECRET}` });
  vault.setSecret('secret/apps/backslash', { trailing: `${SECRET}\\` });
  vault.setSecret('secret/apps/danger', { ld_preload: SECRET });
  await vault.start();
  defer(t, () => vault.stop());
  await writeFile(join(dir, 'jwt'), 'sa-jwt');
  const { url } = await startCentral(t, ['--seed', SEED]);
  const template = (name: string, text: string) => ({ name, source: 'vault/db', template: text });
  const files = JSON.stringify([
    template('a.conf', 'pw={{password.x}}'),
    template('b.conf', 'first={{list.x}}'),
    template('c.conf', '{{#with password}}{{x}}{{/with}}'),
    template('d.conf', 'x\n  {{nested.absent}}'),
    { name: 'e.env', source: 'vault/quotes', format: 'env' },
    { name: 'f.env', source: 'vault/backslash', format: 'env' },
    { name: 'g.env', source: 'vault/danger', format: 'env' },
    { name: 'h.txt', source: 'vault/gone' },
    { name: 'ok.json', source: 'ml-service' },
  ]);
  const common = [
    '--central-url',
    url,
    '--namespaces',
    'ml-service',
    '--output-dir',
    join(dir, 'files'),
    '--cache-dir',
    join(dir, 'cache'),
    ...vaultFileFlags(dir, files, vault.url),
    ...['db', 'quotes', 'backslash', 'danger'].flatMap((name) => ['--vault-secret', `${name}=secret/apps/${name}`]),
    '--log-level',
    'debug',
  ];
  const expected = [
    'a.conf: template line 1, column 6: "password.x": "password" is a string, not an object with keys',
    'b.conf: template line 1, column 9: "list.x" is not defined',
    'c.conf: template line 1, column 21: "x": the context here is a string, not an object with keys',
    'd.conf: template line 2, column 5: "nested.absent" is not defined',
    'e.env: key "quoted": a value with both \' and one of " $ ` \\ has no quoting that sh and dotenv read alike; use json or yaml',
    'f.env: key "trailing": a value ending in \\ has no quoting that sh and dotenv read alike (dotenv reads \\\' as an escaped quote); use json or yaml',
    'g.env: key "ld_preload" would set LD_PRELOAD, which changes how programs in the container run; set the file\'s "prefix" (e.g. "APP_"), rename the key, or use json or yaml (refused names: docs/files.md)',
    'h.txt: key "gone" is not in namespace "vault"',
  ];

  const init = new CliProcess(['init', ...common]);
  assert.equal(await init.exitCode(), 1);
  const lastLine = init.stderrText.at(-1)!;
  assert.equal(lastLine, `llm-config init: files not rendered: ${expected.join('; ')}`);
  assert.equal(init.stderrText.join('\n').includes(SECRET), false, 'init stderr (logs and the one line) holds no secret');

  const agent = spawnCli(t, ['agent', ...common, '--http-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--socket', 'off']);
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  const http = `http://${String(started.http)}`;
  const status = await waitFor(async () => {
    const s = (await (await fetch(`${http}/v1/status`)).json()) as { files: { renderErrors: string[] } };
    // before the secrets are read, the files fail for want of their keys; wait for the secrets
    return JSON.stringify(s.files.renderErrors) === JSON.stringify(expected) ? s : undefined;
  });
  assert.deepEqual(status.files.renderErrors, expected);
  const warned = () => agent.logs.filter((l) => l.msg === 'file not rendered; keeping its previous content').map((l) => l.err);
  await waitFor(
    () => (expected.every((e) => warned().includes(e)) ? true : undefined),
    undefined,
    () => 'a warn line per render error',
  );
  const places = {
    logs: agent.stderrText.join('\n'),
    status: await (await fetch(`${http}/v1/status`)).text(),
    metrics: await (await fetch(`http://${String(started.admin)}/metrics`)).text(),
  };
  for (const [place, text] of Object.entries(places)) {
    assert.equal(text.includes(SECRET), false, `${place} contains the secret`);
    assert.equal(text.includes(ROTATED), false, `${place} contains the second secret`);
  }
  assert.match(places.metrics, /llm_config_file_render_failing\{file="a\.conf"\} 1/);
});

/** {a:{a:…{leaf:'x'}}}: `levels` nested objects. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 'x' };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

// H2b item 5: the per-entry depth limit (SPEC §4, 64) applies to Vault secrets too.
test('a Vault secret nested deeper than 64 levels is refused with a reason; the other secrets are served and rendered', async (t) => {
  const { dir, vault, args } = await setUp(t, ['--vault-secret', 'deep=secret/apps/deep', '--vault-secret', 'deep81=secret/apps/deep81']);
  vault.setSecret('secret/apps/deep', nested(1_000));
  vault.setSecret('secret/apps/deep81', nested(81));
  args[args.indexOf('--files') + 1] = JSON.stringify([
    { name: 'vault.json', source: 'vault' },
    { name: 'vault.yaml', source: 'vault' },
  ]);
  const { http } = await startAgent(t, args);
  const status = await waitFor(async () => {
    const s = (await (await fetch(`${http}/v1/status`)).json()) as { vault?: { failing: string[]; lastError: string | null } };
    return s.vault?.failing.length === 2 ? s.vault : undefined;
  });
  assert.deepEqual([...status.failing].sort(), ['deep', 'deep81']);
  assert.match(String(status.lastError), /secret "deep8?1?" \(secret\/apps\/deep8?1?\) nests deeper than 64 levels/);
  assert.equal((await fetch(`${http}/v1/values/vault/deep`, { headers: H })).status, 404);
  assert.equal((await fetch(`${http}/v1/values/vault/deep81`, { headers: H })).status, 404);
  assert.deepEqual(await (await fetch(`${http}/v1/values/vault/db`, { headers: H })).json(), { password: SECRET, user: 'app' });
  const all = await fetch(`${http}/api/v1/configs/vault`, { headers: H });
  assert.equal(all.status, 200);
  const json = await waitFor(async () => (await readFile(join(dir, 'files', 'vault.json'), 'utf8').catch(() => undefined)) || undefined);
  assert.deepEqual(JSON.parse(json), { db: { password: SECRET, user: 'app' } });
  // the visible links of a first publish appear one after the other: wait for this one too
  const yaml = await waitFor(async () => (await readFile(join(dir, 'files', 'vault.yaml'), 'utf8').catch(() => undefined)) || undefined);
  assert.match(yaml, /^db:\n/);
});
