// A command given an address it cannot take (a port already in use) stops with exit 2
// and one line naming the flag and the address, as the agent does, not a raw stack trace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { generateTlsMaterial } from '../../webhook/tls-material.ts';
import { CliProcess, tempDir, webhookArgs } from '../helpers/cli-process.ts';

/** A port held by another listener for the test's lifetime. */
async function busyPort(t: { after(fn: () => unknown): void }): Promise<number> {
  const holder = createServer().listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return (holder.address() as AddressInfo).port;
}

async function assertOneLine(cli: CliProcess, line: string): Promise<void> {
  assert.equal(await cli.exitCode(), 2);
  assert.doesNotMatch(cli.stderrText.join('\n'), /\n\s+at /, 'no stack trace');
  assert.equal(cli.stderrText.at(-1), line);
}

test('webhook --addr on a port already in use: exit 2 and one line naming --addr and the address', async (t) => {
  const dir = await tempDir(t);
  const material = await generateTlsMaterial({
    commonName: 'in-use',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 1,
  });
  await writeFile(join(dir, 'tls.key'), material.keyPem);
  await writeFile(join(dir, 'tls.crt'), material.certPem);
  const port = await busyPort(t);
  const webhook = new CliProcess(webhookArgs(dir, `127.0.0.1:${port}`));
  await assertOneLine(webhook, `llm-config webhook: --addr=127.0.0.1:${port}: an address this process can listen on (EADDRINUSE)`);
});

test('dev-server --addr on a port already in use: exit 2 and one line naming --addr and the address', async (t) => {
  const port = await busyPort(t);
  const server = new CliProcess(['dev-server', '--addr', `127.0.0.1:${port}`]);
  await assertOneLine(server, `llm-config dev-server: --addr=127.0.0.1:${port}: an address this process can listen on (EADDRINUSE)`);
});
