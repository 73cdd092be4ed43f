// A full output volume: the write fails, is reported, the previous files stay whole,
// the agent keeps serving and recovers once there is space. Needs a small tmpfs; where
// this machine cannot mount one, the test is skipped and says why.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentArgs, spawnCli, startCentral, tempDir, waitFor, writeValue } from '../helpers/cli-process.ts';
import { defer } from '../helpers/cleanup.ts';

const SEED = join(import.meta.dirname, '..', 'fixtures', 'seed.yaml');

function tryMount(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs here (${
      String((error as { stderr?: Buffer }).stderr ?? error)
        .trim()
        .split('\n')[0]
    }); see docs/benchmarks.md`;
  }
}

test('full output volume: failure reported, old files intact, no crash, retried with backoff once space is freed', async (t) => {
  const dir = await tempDir(t);
  const files = join(dir, 'files');
  await mkdir(files);
  const skip = tryMount(files);
  if (skip) return t.skip(skip);
  defer(t, async () => execFileSync('umount', ['-l', files]));
  const { url } = await startCentral(t, ['--seed', SEED]);
  const agent = spawnCli(
    t,
    agentArgs({
      url,
      namespaces: 'ml-service',
      dir,
      outputDir: files,
      socket: 'off',
      extra: ['--backoff-base', '100ms', '--backoff-max', '1s'],
    }),
  );
  const http = `http://${String((await agent.waitForLog((l) => l.msg === 'agent started')).http)}`;
  const before = await waitFor(() => readFile(join(files, 'ml-service.json'), 'utf8').catch(() => undefined));
  // Fill the volume to the last byte.
  let filler = 0;
  try {
    for (;;) await writeFile(join(files, `.filler-${filler++}`), Buffer.alloc(16 * 1024));
  } catch {
    // ENOSPC: full
  }
  await writeValue(url, 'ml-service', 'model', 'x'.repeat(20_000));
  const status = await waitFor(
    async () => {
      const s = (await (await fetch(`${http}/v1/status`)).json()) as { files: { lastError: string | null } };
      return s.files.lastError ? s : undefined;
    },
    undefined,
    () => 'the write failure in /v1/status',
  );
  assert.match(status.files.lastError!, /ENOSPC|no space/i);
  assert.equal(await readFile(join(files, 'ml-service.json'), 'utf8'), before, 'previous files whole');
  assert.equal((await fetch(`${http}/v1/values/ml-service/model`)).status, 200, 'still serving (the new value, from memory)');
  for (let i = 0; i < filler; i++) await rm(join(files, `.filler-${i}`), { force: true });
  // No new change: the failed publish is retried with backoff once space is back.
  await waitFor(
    async () => ((await readFile(join(files, 'ml-service.json'), 'utf8')).includes('x'.repeat(20_000)) ? true : undefined),
    undefined,
    () => 'the failed publish retried after space was freed',
  );
  const recovered = (await (await fetch(`${http}/v1/status`)).json()) as {
    revision: number;
    files: { publishedRevision: number; lastError: string | null };
  };
  assert.equal(recovered.files.publishedRevision, recovered.revision);
  assert.equal(recovered.files.lastError, null);
  await writeValue(url, 'ml-service', 'model', 'fits-again');
  await waitFor(async () => ((await readFile(join(files, 'ml-service.json'), 'utf8')).includes('fits-again') ? true : undefined));
});
