// Never killed for memory under the injected limit (issue 14, SPEC §10): 10,000 keys,
// the agent run with the images' Node flags plus the heap cap the webhook injects for
// the default limit (256Mi), then at the same time: a read burst (2,000 req/s for 5 s
// over every key, with full-namespace lists), a burst of central changes, and full
// resyncs every second (each lists all 10,000 keys while the data changes). The limit
// is enforced by the heap flags (V8 dies rather than grow past them); the kernel's
// side of the limit is checked as the process's peak RSS (VmHWM, kept by the kernel)
// against the limit. Asserted: not killed, kept answering (no 5xx, at least 99 % of
// the burst answered 200: see below for the rest), the last change served, and the
// peak under the limit. No timing is asserted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Pool } from 'undici';
import { defer } from '../helpers/cleanup.ts';
import { agentArgs, CliProcess, IMAGE_ENV, IMAGE_NODE_FLAGS, tempDir, waitFor, warmCompileCache } from '../helpers/cli-process.ts';
import { key, memoryMiB, NS, readBurst, writeFootprintSeed } from '../helpers/footprint-load.ts';
import { quantityValue } from '../../src/options/parsers.ts';
import { heapFlagFor } from '../../webhook/node-options.ts';
import { injectionOptionTable } from '../../webhook/webhook-options.ts';

const KEYS = 10_000;
/** The injected containers' default limit; the test follows it if it moves. */
const LIMIT = injectionOptionTable.memoryLimit.defaultText!;
const LIMIT_MIB = quantityValue(LIMIT) / 2 ** 20;
const CHANGES = 2000;

/** `count` writes to distinct keys, `concurrency` at a time; resolves with the number that failed. */
async function changeBurst(url: string, count: number, concurrency = 16): Promise<number> {
  const pool = new Pool(url, { connections: concurrency });
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const body = JSON.stringify({ value: { model: `changed-${i}`, prompt: 'p'.repeat(300) }, env: 'development' });
        const response = await pool
          .request({
            path: `/api/v1/configs/${NS}/${key(i % KEYS)}`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          })
          .catch(() => undefined);
        await response?.body.dump();
        if (response === undefined || response.statusCode >= 300) failed++;
      }
    }),
  );
  await pool.close();
  return failed;
}

test(`10,000 keys under a ${LIMIT} limit: read burst, change burst and full resyncs at once; not killed, kept answering`, {
  timeout: 600_000,
}, async (t) => {
  const dir = await tempDir(t);
  await writeFootprintSeed(join(dir, 'seed.json'), KEYS);
  const central = new CliProcess(['dev-server', '--addr', '127.0.0.1:0', '--seed', join(dir, 'seed.json')]);
  defer(t, () => central.stop());
  const url = String((await central.waitForLog((l) => l.msg === 'listening')).url);
  const heap = heapFlagFor(LIMIT);
  assert.ok(heap, 'the webhook injects a heap cap for the default limit');
  const flags = [...IMAGE_NODE_FLAGS, heap];
  warmCompileCache(flags); // as the image is: a cold cache would add Node's TypeScript stripper to the peak
  const agent = new CliProcess(
    agentArgs({ url, namespaces: NS, dir, socket: 'off', extra: ['--resync-interval', '1s'] }),
    IMAGE_ENV,
    flags,
  );
  defer(t, () => agent.stop());
  const started = await agent.waitForLog((l) => l.msg === 'agent started');
  const http = `http://${String(started.http)}`;
  await waitFor(
    async () => ((await fetch(`http://${String(started.admin)}/readyz`).catch(() => undefined))?.ok ? true : undefined),
    undefined,
    () => 'the agent ready',
  );

  const [reads, failedChanges] = await Promise.all([readBurst(http, KEYS, 2000, 5, 500), changeBurst(url, CHANGES)]);
  const last = `changed-${CHANGES - 1}`;
  await waitFor(
    async () => {
      const response = await fetch(`${http}/v1/values/${NS}/${key((CHANGES - 1) % KEYS)}`);
      return response.ok && ((await response.json()) as { model: string }).model === last ? true : undefined;
    },
    undefined,
    () => `the last change (${last}) served`,
  );
  const memory = await memoryMiB(agent.child.pid!);
  t.diagnostic(
    `node flags: ${flags.join(' ')}; reads ${reads.ok} ok, failed: ${JSON.stringify(reads.failures)}; changes ${CHANGES - failedChanges} applied; ` +
      `RSS now ${memory.rss.toFixed(1)} MiB, peak ${memory.hwm.toFixed(1)} MiB (limit ${LIMIT_MIB} MiB)`,
  );

  assert.equal(agent.child.exitCode, null, 'the agent is still running');
  assert.equal(agent.child.signalCode, null, 'the agent was not killed');
  assert.equal(failedChanges, 0);
  // Memory is what this test is about. On a 2-core machine shared with other test runs the
  // agent can be starved of CPU for seconds while it lists 10,000 keys per resync; a read
  // then meets the local API's 10 s header timeout (408) or a reset. Those are counted and
  // printed, and bounded; an answer the agent got wrong (any 5xx) is never allowed.
  const serverErrors = Object.keys(reads.failures).filter((why) => /^HTTP 5/.test(why));
  assert.deepEqual(serverErrors, [], 'no read answered with a server error');
  assert.ok(reads.ok >= 0.99 * 2000 * 5, `kept answering: ${reads.ok} of ${2000 * 5} reads answered 200`);
  assert.ok(memory.hwm < LIMIT_MIB, `peak RSS ${memory.hwm.toFixed(1)} MiB under the ${LIMIT_MIB} MiB limit`);
  assert.deepEqual(
    agent.logs.filter((l) => l.level === 'fatal' || l.level === 'error').map((l) => l.msg),
    [],
  );
});
