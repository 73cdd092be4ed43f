// SPEC §10 "central outage", measured: the central API stops for at least `seconds`
// and until `until` holds for what was seen (tests end the outage on a condition, not a
// time), while a client reads the agent continuously and a checker re-reads the files;
// a TCP recorder on the central port counts the agent's reconnect attempts, and the
// agent's own log gives the backoff waits it chose. Used by the tests (which assert on
// counts and on the agent's decisions) and by bench/ (which reports wall-clock figures).

import { createServer } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { readFile, readlink, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { agentArgs, CliProcess, waitFor, writeValue } from './cli-process.ts';

export type OutageProgress = {
  readonly reads: number;
  readonly fileChecks: number;
  /** TCP connections the agent opened to the central port during the outage. */
  readonly attempts: number;
  /** The waits the agent logged before each watch reconnect ('sync failed; backing off', loop stream), in order. */
  readonly backoffWaits: ReadonlyArray<{ readonly attempt: number; readonly delayMs: number }>;
};

export type OutageResult = OutageProgress & {
  readonly failedReads: number;
  readonly changedOrCorruptFiles: number;
  /** Wall-clock gaps between connection attempts: a bench figure, not for assertions. */
  readonly reconnectGapsMs: readonly number[];
  /** Wall-clock time from the restart to the write being served: a bench figure. */
  readonly resyncMs: number;
};

export async function runOutage(
  seconds: number,
  seed: string,
  agentFlags: readonly string[] = [],
  until: (progress: OutageProgress) => boolean = () => true,
): Promise<OutageResult> {
  const dir = await mkdtemp(join(tmpdir(), 'llmc-outage-'));
  const processes: CliProcess[] = [];
  try {
    const data = join(dir, 'central.json');
    const central = new CliProcess(['dev-server', '--addr', '127.0.0.1:0', '--seed', seed, '--data', data]);
    processes.push(central);
    const url = await central.listeningUrl();
    const port = Number(new URL(url).port);
    const files = join(dir, 'files');
    const agent = new CliProcess(
      agentArgs({ url, namespaces: 'ml-service,team/ml', dir, outputDir: files, socket: join(dir, 'agent.sock'), extra: agentFlags }),
    );
    processes.push(agent);
    const http = `http://${String((await agent.waitForLog((l) => l.msg === 'agent started')).http)}`;
    await agent.waitForLog((l) => l.msg === 'watch stream connected');
    const readFiles = async () =>
      JSON.stringify({
        link: await readlink(join(files, '..data')),
        ml: JSON.parse(await readFile(join(files, 'ml-service.json'), 'utf8')),
        team: JSON.parse(await readFile(join(files, 'team.ml.json'), 'utf8')),
      });
    const before = await waitFor(() => readFiles().catch(() => undefined));
    const expected = await (await fetch(`${http}/v1/values/ml-service/model`)).text();

    const counts = { reads: 0, failedReads: 0, fileChecks: 0, changedOrCorruptFiles: 0 };
    let running = true;
    const reader = (async () => {
      while (running) {
        const response = await fetch(`${http}/v1/values/ml-service/model`).catch(() => undefined);
        counts.reads++;
        if (response?.status !== 200 || (await response.text()) !== expected) counts.failedReads++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const checker = (async () => {
      while (running) {
        counts.fileChecks++;
        if ((await readFiles().catch(() => 'unreadable')) !== before) counts.changedOrCorruptFiles++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    await central.stop();
    const attempts: number[] = [];
    const recorder = createServer((socket) => {
      attempts.push(Date.now());
      socket.destroy();
    }).listen(port, '127.0.0.1');
    await once(recorder, 'listening');
    const logsBefore = agent.logs.length;
    const progress = (): OutageProgress => ({
      reads: counts.reads,
      fileChecks: counts.fileChecks,
      attempts: attempts.length,
      backoffWaits: agent.logs
        .slice(logsBefore)
        .filter((l) => l.msg === 'sync failed; backing off' && l.loop === 'stream')
        .map((l) => ({ attempt: Number(l.attempt), delayMs: Number(l.delayMs) })),
    });
    // The scenario's duration (a time the outage lasts, not a wait before an assertion)...
    const endsAt = Date.now() + seconds * 1000;
    // ...and the test's condition; both bounded by the test timeout.
    await waitFor(
      () => (Date.now() >= endsAt && until(progress()) ? true : undefined),
      undefined,
      () => `the outage's end condition; so far ${JSON.stringify(progress())}`,
    );
    const seen = progress();
    recorder.close();
    await once(recorder, 'close');
    running = false;
    await Promise.all([reader, checker]);

    const restarted = new CliProcess(['dev-server', '--addr', `127.0.0.1:${port}`, '--data', data]);
    processes.push(restarted);
    await restarted.listeningUrl();
    const back = Date.now();
    await writeValue(url, 'ml-service', 'model', 'after-outage');
    await waitFor(
      async () => ((await (await fetch(`${http}/v1/values/ml-service/model`)).text()) === 'after-outage' ? true : undefined),
      undefined,
      () => 'the write after the restart to be served',
    );
    return {
      ...counts,
      attempts: seen.attempts,
      backoffWaits: seen.backoffWaits,
      reconnectGapsMs: attempts.slice(1).map((at, i) => at - attempts[i]!),
      resyncMs: Date.now() - back,
    };
  } finally {
    for (const p of processes.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
