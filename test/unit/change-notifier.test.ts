import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ChangeNotifier } from '../../src/notify/change-notifier.ts';
import { findProcesses } from '../../src/notify/find-processes.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { waitFor } from '../helpers/cli-process.ts';
import { settle } from '../helpers/fake-clock.ts';

async function receiver(t: { after: (fn: () => void) => void }, statuses: number[]) {
  const bodies: unknown[] = [];
  let i = 0;
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    bodies.push(JSON.parse(text));
    res.writeHead(statuses[Math.min(i++, statuses.length - 1)]!).end();
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/-/reload`), bodies };
}

const base = { reloadSignal: 'SIGHUP' as const, reloadProcess: undefined, backoff: { baseMs: 20, capMs: 50 }, retryForMs: 5000 };

test('a burst of changes within the debounce window is one POST, carrying the last revision', async (t) => {
  const { url, bodies } = await receiver(t, [200]);
  const { logger, lines } = testLogger();
  // The debounce timer runs on a fake clock: changes 20 ms apart, a window of 150 ms.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const notifier = new ChangeNotifier({ ...base, debounceMs: 150, reloadUrl: url, logger });
  t.after(() => notifier.close());
  for (let revision = 1; revision <= 5; revision++) {
    notifier.filesChanged(revision);
    t.mock.timers.tick(20);
  }
  t.mock.timers.tick(129); // 149 ms after the last change: the window is not quiet yet
  await settle();
  assert.deepEqual(bodies, []);
  assert.equal(lines.filter((l) => String(l.msg).startsWith('app ')).length, 0);
  t.mock.timers.tick(1);
  t.mock.timers.reset(); // real timers again for the HTTP exchange and the wait below
  await waitFor(() => lines.find((l) => l.msg === 'app notified (reload URL)'));
  await notifier.close(); // nothing else is pending: no second POST can follow
  assert.deepEqual(bodies, [{ revision: 5 }]);
  assert.equal(lines.filter((l) => l.msg === 'app notified (reload URL)' && l.revision === 5).length, 1);
});

test('a failing reload URL is retried with backoff; giving up is one clear error line', async (t) => {
  const { url, bodies } = await receiver(t, [503, 503, 204]);
  const { logger, lines } = testLogger();
  const notifier = new ChangeNotifier({ ...base, debounceMs: 0, reloadUrl: url, logger });
  t.after(() => notifier.close());
  notifier.filesChanged(1);
  await waitFor(() => lines.find((l) => l.msg === 'app notified (reload URL)'));
  assert.equal(bodies.length, 3);
  assert.equal(
    lines.filter((l) => l.msg === 'reload URL answered 503; retrying' && l.status === 503).length,
    2,
    'it answered: not "not reached"',
  );
  const dead = new ChangeNotifier({ ...base, debounceMs: 0, retryForMs: 200, reloadUrl: new URL('http://127.0.0.1:1/reload'), logger });
  t.after(() => dead.close());
  dead.filesChanged(2);
  const unreachable = (l: { msg?: string }) => String(l.msg).startsWith('app NOT notified: reload URL unreachable');
  await waitFor(() => lines.find(unreachable));
  await dead.close(); // its one notification is over: nothing more can be logged
  assert.equal(lines.filter(unreachable).length, 1);
});

test('a real process found by name through /proc receives the signal', async (t) => {
  const name = `llmc-app-${randomBytes(3).toString('hex')}`;
  // bash renames its argv[0] with exec -a; the trap proves delivery by exiting cleanly.
  const app = spawn('bash', ['-c', `exec -a ${name} bash -c 'trap "echo got-usr1; exit 0" USR1; while :; do sleep 0.05; done'`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => app.kill('SIGKILL'));
  let out = '';
  app.stdout!.on('data', (c: Buffer) => (out += c));
  // wait until bash has renamed itself (exec -a), rather than for a fixed time
  assert.deepEqual(await waitFor(async () => ((await findProcesses(name)).length > 0 ? findProcesses(name) : undefined)), [app.pid]);
  const { logger, lines } = testLogger();
  const notifier = new ChangeNotifier({
    ...base,
    debounceMs: 0,
    reloadUrl: undefined,
    reloadProcess: name,
    reloadSignal: 'SIGUSR1',
    logger,
  });
  notifier.filesChanged(3);
  const [code] = await once(app, 'exit');
  assert.equal(code, 0);
  assert.equal(out.trim(), 'got-usr1');
  assert.ok(lines.some((l) => l.msg === 'app notified (signal)' && l.pid === app.pid));
  const nobody = new ChangeNotifier({ ...base, debounceMs: 0, reloadUrl: undefined, reloadProcess: `${name}-gone`, logger });
  nobody.filesChanged(4);
  await waitFor(() => lines.find((l) => String(l.msg).startsWith('app NOT notified: no process of that name is visible')));
  await notifier.close();
  await nobody.close();
});

test('a reload URL answering 503 is a notification failure with its own code, not a central API error', async (t) => {
  const { url } = await receiver(t, [503]);
  const { logger, lines } = testLogger();
  const notifier = new ChangeNotifier({ ...base, debounceMs: 0, retryForMs: 150, reloadUrl: url, logger });
  t.after(() => notifier.close());
  notifier.filesChanged(7);
  const final = await waitFor(() => lines.find((l) => String(l.msg).startsWith('app NOT notified')));
  assert.equal(final.msg, 'app NOT notified: reload URL refused the notification; files are updated on disk regardless');
  assert.equal(final.code, 'LLMC_ERR_NOTIFY');
  assert.equal(final.status, 503);
  assert.equal(final.err, 'reload URL answered 503; it must answer 2xx');
  assert.ok(!lines.some((l) => l.msg === 'reload URL not reached; retrying'), 'the URL answered 503: it was reached');
  const retries = lines.filter((l) => l.msg === 'reload URL answered 503; retrying');
  assert.ok(retries.length > 0);
  for (const line of [...retries, final]) assert.doesNotMatch(JSON.stringify(line), /central API/);
  assert.ok(retries.every((l) => l.code === 'LLMC_ERR_NOTIFY'));
});
