// --upstream-rps on the wire: requests are planned by the scheduler (nextStartAt/take)
// but leave later by a varying lag (event-loop lag in a cold-read storm, a token
// re-read, a retry). Property, seeded, on a fake clock: with `acquire` taken right
// before each send, no one-second window of actual sends holds more than rps; without
// it (the plan alone) the same storms exceed it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CentralClient } from '../../src/central/client.ts';
import { WatchedFile } from '../../src/credentials/watched-file.ts';
import { testLogger } from '../helpers/test-logger.ts';
import { UpstreamBudget, type BudgetClock } from '../../relay/upstream-budget.ts';

const seed = Number(process.env.LLM_CONFIG_TEST_SEED ?? Date.now());

/** A discrete-event clock: sleeps resolve in time order as the simulation advances. */
class FakeClock implements BudgetClock {
  time = 0;
  readonly #timers: Array<{ at: number; wake: () => void }> = [];
  now(): number {
    return this.time;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.#timers.push({ at: this.time + ms, wake }));
  }
  /** Runs every timer in order until none is left. */
  async run(): Promise<void> {
    for (;;) {
      await flush();
      if (this.#timers.length === 0) return;
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers.shift()!;
      this.time = Math.max(this.time, next.at);
      next.wake();
    }
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

function maxInAnySecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** One storm: `lags[i]` ms between planning request i and handing it to the pool. */
async function storm(rps: number, lags: number[], gate: boolean): Promise<number[]> {
  const clock = new FakeClock();
  const budget = new UpstreamBudget(rps, clock);
  const sent: number[] = [];
  const requests: Promise<void>[] = [];
  for (const lag of lags) {
    const at = budget.nextStartAt(clock.time);
    budget.take(at);
    requests.push(
      (async () => {
        await clock.sleep(at - clock.time + lag);
        if (gate) await budget.acquire();
        sent.push(clock.time);
      })(),
    );
  }
  await clock.run();
  await Promise.all(requests);
  return sent;
}

test('upstream budget on the wire: no one-second window of sends holds more than rps, whatever the lag after planning (property)', async () => {
  let exceededWithoutGate = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 10, maxLength: 80 }),
      async (rps, lags) => {
        const sent = await storm(rps, lags, true);
        assert.equal(sent.length, lags.length, 'every request is sent');
        assert.ok(maxInAnySecond(sent) <= rps, `${maxInAnySecond(sent)} sends in one second at rps ${rps}`);
        if (maxInAnySecond(await storm(rps, lags, false)) > rps) exceededWithoutGate++;
      },
    ),
    { seed, numRuns: 100, verbose: true },
  );
  assert.ok(exceededWithoutGate > 0, `seed ${seed}: the plan alone never exceeded the bound, so this property tests nothing`);
});

test('upstream budget on the wire: the storm of the review (rps 5, 117 ms gaps) stays at 5 per second', async () => {
  // Planned 200 ms apart; every other one leaves 83 ms late: gaps of 117 and 283 ms.
  const lags = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 83 : 0));
  assert.ok(maxInAnySecond(await storm(5, lags, false)) > 5, 'the plan alone lets 6 in a second');
  assert.ok(maxInAnySecond(await storm(5, lags, true)) <= 5);
});

test('upstream budget: acquire honours a 429 pause and an aborted waiter leaves the queue', async () => {
  const clock = new FakeClock();
  const budget = new UpstreamBudget(10, clock);
  budget.pause(5000, 0);
  const sent: number[] = [];
  const abort = new AbortController();
  const aborted = budget.acquire(abort.signal).then(
    () => 'sent',
    () => 'aborted',
  );
  const later = budget.acquire().then(() => sent.push(clock.time));
  abort.abort();
  await clock.run();
  await later;
  assert.equal(await aborted, 'aborted');
  assert.deepEqual(sent, [5000]);
});

test('upstream budget on the wire: the central client takes a turn for every request it sends, the retry after a 401 too', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'llmc-budget-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), 'old-token');
  let received = 0;
  const server = createServer((_req, res) => {
    received++;
    if (received === 1) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const { logger } = testLogger();
  const token = new WatchedFile(join(dir, 'token'), { logger });
  await token.start();
  t.after(() => token.close());
  let turns = 0;
  const client = new CentralClient({
    baseUrl: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    environment: 'development',
    headers: [],
    token,
    tls: { rejectUnauthorized: true },
    requestTimeoutMs: 5000,
    maxBodyBytes: 1 << 20,
    userAgent: 'test',
    beforeSend: async () => {
      turns++;
    },
  });
  t.after(() => client.close());
  // The first answer is 401 (as after a token rotation): the client re-reads the token and retries once.
  const result = await client.listNamespace('ml-service');
  assert.equal(result.kind, 'entries');
  assert.equal(received, 2, 'a 401 and the retry');
  assert.equal(turns, received, 'one budget turn per request on the wire');
});
