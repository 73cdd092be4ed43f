// The serving certificate's watcher on a real directory laid out as kubelet lays out a
// Secret volume (`..data` → `..<timestamp>`, tls.crt and tls.key linking through it):
// a `..data` swap reloads; files written beside the pair (the webhook's own log, a
// temporary file) never do (issue 12 #13).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateFiles, readPair, type CertificatePair } from '../../webhook/tls-files.ts';
import { generateTlsMaterial } from '../../webhook/tls-material.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/cli-process.ts';

let generation = 0;
/** kubelet's AtomicWriter: a new timestamped directory, `..data_tmp` → it, renamed over `..data`, the old one removed. */
async function publish(dir: string, name: string, previous?: string): Promise<{ dataDir: string; pair: CertificatePair }> {
  const material = await generateTlsMaterial({ commonName: name, dnsNames: ['localhost'], validityDays: 1 });
  const dataDir = `..2026_11_30_00_00_0${generation++}`;
  await mkdir(join(dir, dataDir));
  await writeFile(join(dir, dataDir, 'tls.crt'), material.certPem);
  await writeFile(join(dir, dataDir, 'tls.key'), material.keyPem);
  await symlink(dataDir, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  if (previous) await rm(join(dir, previous), { recursive: true });
  return { dataDir, pair: { cert: material.certPem, key: material.keyPem } };
}

test('a kubelet ..data swap reloads once, naming what changed; writes beside the pair never reload', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'llmc-certs-'));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  const first = await publish(dir, 'first');
  await symlink('..data/tls.crt', join(dir, 'tls.crt'));
  await symlink('..data/tls.key', join(dir, 'tls.key'));
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  assert.deepEqual(await readPair(certFile, keyFile), first.pair);

  const { logger, lines } = testLogger('debug');
  const loaded: CertificatePair[] = [];
  const files = new CertificateFiles(certFile, keyFile, logger, (pair) => loaded.push(pair), first.pair);
  await files.watch();
  defer(t, () => files.close());

  // Writes beside the pair: a log file, a temporary file renamed into place, a new directory.
  for (let i = 0; i < 5; i++) await writeFile(join(dir, 'webhook.log'), `line ${i}\n`, { flag: 'a' });
  await writeFile(join(dir, 'other.tmp'), 'x');
  await rename(join(dir, 'other.tmp'), join(dir, 'other.txt'));
  await mkdir(join(dir, 'sub'));

  const second = await publish(dir, 'second', first.dataDir);
  await waitFor(
    () => loaded.length > 0,
    undefined,
    () => 'the reload after the ..data swap',
  );
  assert.deepEqual(loaded, [second.pair]);
  const reloads = lines.filter((l) => l.msg === 'serving certificate reloaded');
  assert.equal(reloads.length, 1);
  assert.deepEqual(reloads[0]!.changed, ['..data'], 'only the swap caused it');

  // A second swap reloads again: the watch survives its own target being replaced.
  const third = await publish(dir, 'third', second.dataDir);
  await waitFor(
    () => loaded.length > 1,
    undefined,
    () => 'the reload after the second swap',
  );
  assert.deepEqual(loaded, [second.pair, third.pair]);
  assert.ok(lines.filter((l) => l.msg === 'serving certificate reloaded').every((l) => !(l.changed as string[]).includes('webhook.log')));
});

test('plain files renamed over the pair reload; an unchanged pair rewritten in place does not call back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'llmc-certs-'));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  const write = async (pair: CertificatePair) => {
    await writeFile(join(dir, 'tls.key.new'), pair.key);
    await writeFile(join(dir, 'tls.crt.new'), pair.cert);
    await rename(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
    await rename(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
  };
  const material = async (name: string) => {
    const m = await generateTlsMaterial({ commonName: name, dnsNames: ['localhost'], validityDays: 1 });
    return { cert: m.certPem, key: m.keyPem };
  };
  const first = await material('first');
  await write(first);
  const { logger, lines } = testLogger('debug');
  const loaded: CertificatePair[] = [];
  const files = new CertificateFiles(join(dir, 'tls.crt'), join(dir, 'tls.key'), logger, (pair) => loaded.push(pair), first);
  await files.watch();
  defer(t, () => files.close());
  await write(first);
  await waitFor(
    () => lines.some((l) => l.msg === 'certificate files touched; content unchanged'),
    undefined,
    () => 'the unchanged rewrite to be seen',
  );
  assert.deepEqual(loaded, []);
  const second = await material('second');
  await write(second);
  await waitFor(
    () => loaded.length > 0,
    undefined,
    () => 'the reload',
  );
  assert.deepEqual(loaded, [second]);
});
