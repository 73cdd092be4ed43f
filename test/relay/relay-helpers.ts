// Starting the real `llm-config relay` CLI for tests, counting what it asks upstream
// (the dev-server logs every request at debug level), and a frugal SSE watcher.

import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { relayArgs, spawnCli, startCentral, tempDir, waitFor, type CliProcess, type TestContextLike } from '../helpers/cli-process.ts';
import type { KubeApiDouble } from '../helpers/kube-api-double.ts';

export type RunningRelay = { readonly proc: CliProcess; readonly url: string; readonly admin: string };

export async function startRelayCli(
  t: TestContextLike,
  centralUrl: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<RunningRelay> {
  const proc = spawnCli(t, relayArgs(centralUrl, ['--log-level', 'debug', ...args]), env);
  const started = await proc.waitForLog((l) => l.msg === 'relay started');
  return { proc, url: `http://${String(started.http)}`, admin: `http://${String(started.admin)}` };
}

/**
 * A dev-server seeded with test/fixtures/seed.yaml and, in front of it, a relay that
 * authenticates callers by TokenReview against `kube` (`--auth kubernetes`), then `args`;
 * resolves once the relay answers /readyz.
 */
export async function startKubernetesAuthRelay(
  t: TestContextLike,
  kube: KubeApiDouble,
  args: string[] = [],
): Promise<{ central: { proc: CliProcess; url: string }; relay: RunningRelay }> {
  const dir = await tempDir(t);
  const central = await startCentral(t, ['--seed', join(import.meta.dirname, '..', 'fixtures', 'seed.yaml')]);
  const relay = await startRelayCli(t, central.url, ['--auth', 'kubernetes', '--kubeconfig', await kube.writeKubeconfig(dir), ...args]);
  await waitFor(async () => ((await fetch(`${relay.admin}/readyz`)).ok ? true : undefined));
  return { central, relay };
}

/** Upstream list requests the dev-server logged for `path` (e.g. /api/v1/configs/ml-service). */
export function upstreamRequests(central: CliProcess, path?: string): Array<{ path: string; time: number; status: number }> {
  return central.logs
    .filter((l) => l.msg === 'request' && String(l.path).startsWith('/api/v1/') && (path === undefined || l.path === path))
    .map((l) => ({ path: String(l.path), time: Date.parse(String(l.time)), status: Number(l.status) }));
}

export async function relayStatus(relay: RunningRelay): Promise<{
  revision: number;
  namespaces: number;
  effectiveIntervalMs: number;
  budgetExceeded: boolean;
  streams: number;
  slots: Array<{ namespace: string; environment: string; loaded: boolean; stale: boolean; streams: number; revision: number }>;
}> {
  return (await fetch(`${relay.admin}/status`)).json() as never;
}

export type Watcher = {
  readonly events: Array<{ event: string; id: string; data: string; at: number }>;
  readonly status: number;
  /** Settles when the server ends the stream (or it is closed). */
  readonly ended: Promise<void>;
  close(): void;
};

/** One SSE stream over plain http.request; events parsed as they arrive (no per-stream timers). */
export function openWatch(url: string, headers: Record<string, string> = {}, agent?: Agent): Promise<Watcher> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers }, agent }, (res: IncomingMessage) => {
      const events: Watcher['events'] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          if (block.startsWith(':')) continue;
          const field = (name: string) =>
            block
              .split('\n')
              .find((l) => l.startsWith(`${name}: `))
              ?.slice(name.length + 2) ?? '';
          events.push({ event: field('event'), id: field('id'), data: field('data'), at: Date.now() });
        }
      });
      res.on('error', () => undefined);
      const ended = new Promise<void>((done) => res.on('close', done));
      resolve({ events, status: res.statusCode ?? 0, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
