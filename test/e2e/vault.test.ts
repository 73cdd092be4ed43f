// Vault secrets end to end: the real agent against the Vault HTTP double and the
// reference central API. Token renewal and re-login, 403 naming path and role, Vault
// down and back, removal, and a grep for seeded secret values everywhere they must
// not appear.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { spawnCli, startCentral, tempDir, waitFor, type TestContextLike } from '../helpers/cli-process.ts';
import { VaultDouble } from '../helpers/vault-double.ts';
import { defer } from '../helpers/cleanup.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');
const SECRET = 's3cr3t-SEED-VALUE-7f3a9c';
const ROTATED = 'r0tated-SEED-VALUE-41be02';
const H = { 'x-llm-config-request': 'true' };

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
  const args = [
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
    join(dir, 'agent.sock'),
    '--files',
    files,
    '--vault-addr',
    vault.url,
    '--vault-role',
    'apps',
    '--vault-jwt-file',
    join(dir, 'jwt'),
    '--vault-secret',
    'db=secret/apps/db',
    '--vault-poll-interval',
    '1s',
    '--backoff-base',
    '100ms',
    '--backoff-max',
    '500ms',
    ...more,
  ];
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
  await waitFor(async () => ((await fetch(`${http}/v1/values/vault/db`, { headers: H })).status === 200 ? true : undefined), 5000);
  assert.equal((await fetch(`${http}/v1/values/vault/db`)).status, 403, 'SSRF guard on by default when secrets are served');
  assert.equal((await fetch(`${http}/v1/values/ml-service/model`)).status, 403, 'and for every value read');
  assert.deepEqual(await (await fetch(`${http}/v1/values/vault/db`, { headers: H })).json(), { password: SECRET, user: 'app' });
  // Files follow the store within milliseconds; wait for them rather than race them.
  await waitFor(
    async () =>
      (await readFile(join(dir, 'files', 'db.env'), 'utf8').catch(() => '')) === `PASSWORD='${SECRET}'\nUSER='app'\n` ? true : undefined,
    5000,
  );
  vault.setSecret('secret/apps/db', { password: ROTATED, user: 'app' });
  await waitFor(async () => ((await readFile(join(dir, 'files', 'db.env'), 'utf8')).includes(ROTATED) ? true : undefined), 5000);
  vault.deleteSecret('secret/apps/db');
  await waitFor(async () => ((await fetch(`${http}/v1/values/vault/db`, { headers: H })).status === 404 ? true : undefined), 5000);
});

test('token renewal before expiry, re-login when renewal is refused', async (t) => {
  const { vault, args } = await setUp(t);
  vault.ttlSeconds = 2;
  const { agent } = await startAgent(t, args);
  await waitFor(
    () => (vault.count('/v1/auth/token/renew-self') >= 1 ? true : undefined),
    6000,
    () => 'a renew-self call',
  );
  assert.equal(vault.count('/v1/auth/kubernetes/login'), 1);
  vault.refuseRenewal = true;
  await waitFor(
    () => (vault.count('/v1/auth/kubernetes/login') >= 2 ? true : undefined),
    8000,
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
  }, 5000);
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
  await waitFor(async () => ((await fetch(`${http}/v1/values/vault/db`, { headers: H })).status === 200 ? true : undefined), 5000);
  const port = vault.port;
  await vault.stop();
  await waitFor(
    async () => {
      const s = (await (await fetch(`${http}/v1/status`)).json()) as { vault: { failing: string[] } };
      return s.vault.failing.includes('db') ? true : undefined;
    },
    5000,
    () => 'the failure to show in status',
  );
  assert.deepEqual(await (await fetch(`${http}/v1/values/vault/db`, { headers: H })).json(), { password: SECRET, user: 'app' });
  vault.setSecret('secret/apps/db', { password: ROTATED, user: 'app' });
  await vault.start(port);
  await waitFor(
    async () =>
      ((await (await fetch(`${http}/v1/values/vault/db`, { headers: H })).json()) as { password: string }).password === ROTATED
        ? true
        : undefined,
    8000,
  );
});

test('seeded secret values appear in no log line, metrics scrape, status answer or unencrypted snapshot; a sealed snapshot serves them warm', async (t) => {
  const { dir, vault, args } = await setUp(t);
  const { agent, http, admin } = await startAgent(t, [...args, '--log-level', 'debug']);
  await waitFor(async () => ((await fetch(`${http}/v1/values/vault/db`, { headers: H })).status === 200 ? true : undefined), 5000);
  await waitFor(
    async () => ((await readFile(join(dir, 'cache', 'snapshot.json'), 'utf8').catch(() => '')).includes('ml-service') ? true : undefined),
    5000,
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
  await waitFor(async () => ((await fetch(`${first.http}/v1/values/vault/db`, { headers: H })).status === 200 ? true : undefined), 5000);
  // files and snapshot of the revision that brought the secret are on disk
  await waitFor(async () => {
    const s = (await (await fetch(`${first.http}/v1/status`)).json()) as { revision: number; files: { publishedRevision: number } };
    return s.files.publishedRevision === s.revision ? true : undefined;
  }, 5000);
  assert.ok((await readFile(join(dir, 'cache', 'snapshot.json'), 'utf8')).includes('"sealed"'));
  assert.equal((await readFile(join(dir, 'cache', 'snapshot.json'), 'utf8')).includes(SECRET), false, 'sealed, not plain');
  await first.agent.stop();
  await vault.stop();
  const warm = await startAgent(t, sealedArgs);
  assert.deepEqual(await (await fetch(`${warm.http}/v1/values/vault/db`, { headers: H })).json(), { password: SECRET, user: 'app' });
});
