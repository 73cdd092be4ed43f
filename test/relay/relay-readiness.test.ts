// /readyz follows SPEC §4 "loaded means loaded": a relay whose preloaded namespace has
// never loaded (upstream down, no state) is not ready; demand-driven namespaces never
// block readiness, and the reason says how many of them are not loaded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { waitFor } from '../helpers/cli-process.ts';
import { startRelayCli } from './relay-helpers.ts';

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

test('relay readiness: not ready while a preloaded namespace never loaded; demand-driven cold ones are reported, not blocking', async (t) => {
  const upstream = `http://127.0.0.1:${await deadPort()}`;
  const preloading = await startRelayCli(t, upstream, ['--auth', 'none', '--namespaces', 'ml-service']);
  const notReady = await fetch(`${preloading.admin}/readyz`);
  assert.equal(notReady.status, 503);
  assert.match(await notReady.text(), /preloaded namespaces not loaded yet/);

  const onDemand = await startRelayCli(t, upstream, ['--auth', 'none']);
  const cold = await fetch(`${onDemand.url}/api/v1/configs/ml-service?env=dev`);
  assert.equal(cold.status, 503, 'a cold namespace upstream cannot serve');
  const reason = await waitFor(async () => {
    const ready = await fetch(`${onDemand.admin}/readyz`);
    const text = await ready.text();
    return ready.status === 200 && /1 on demand, 1 of them not loaded yet/.test(text) ? text : undefined;
  });
  assert.match(reason, /0 preloaded namespaces loaded/);
});
