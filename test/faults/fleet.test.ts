// A fleet: 200 real agents (in this process) polling one reference central API in
// --upstream-strict mode — one client IP for all, as behind a NAT or ingress, its rate
// limits and ban in force — for FLEET_SECONDS (default 180). They start warm from an
// init snapshot, as in pods. No request may be rate limited or banned, and the spread
// of their request times (the histogram in the output) shows the jitter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliProcess, startCentral, tempDir, waitFor } from '../helpers/cli-process.ts';
import { parseOptions } from '../../src/options/define.ts';
import { agentOptionTable } from '../../agent/agent-options.ts';
import { startAgent, type RunningAgent } from '../../agent/agent-runtime.ts';

const AGENTS = Number(process.env.FLEET_AGENTS ?? 200);
const SECONDS = Number(process.env.FLEET_SECONDS ?? 180);
const INTERVAL = process.env.FLEET_POLL_INTERVAL ?? '60s';

test(`fleet: ${AGENTS} agents polling an upstream-strict central API for ${SECONDS}s — no 429, no ban, spread by jitter`, {
  timeout: (SECONDS + 120) * 1000,
}, async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'seed.yaml'), 'development:\n  ml-service:\n    model: gpt-4o\n');
  const { proc: central, url } = await startCentral(t, ['--seed', join(dir, 'seed.yaml'), '--upstream-strict']);
  const common = [
    '--central-url',
    url,
    '--namespaces',
    'ml-service',
    '--central-header',
    'X-Forwarded-Proto: https',
    '--sync-mode',
    'poll',
    '--poll-interval',
    INTERVAL,
  ];
  const init = new CliProcess(['init', ...common, '--output-dir', join(dir, 'seed-files'), '--cache-dir', join(dir, 'seed-cache')]);
  assert.equal(await init.exitCode(), 0, init.stderrText.join('\n'));
  const baseline = central.logs.filter((l) => l.msg === 'request').length;

  const agents: RunningAgent[] = [];
  const started = Date.now();
  try {
    for (let i = 0; i < AGENTS; i++) {
      await cp(join(dir, 'seed-cache'), join(dir, `cache-${i}`), { recursive: true });
      const options = parseOptions(
        agentOptionTable,
        [
          ...common,
          '--output-dir',
          join(dir, `files-${i}`),
          '--cache-dir',
          join(dir, `cache-${i}`),
          '--http-addr',
          '127.0.0.1:0',
          '--admin-addr',
          '127.0.0.1:0',
          '--socket',
          'off',
          '--log-level',
          'error',
        ],
        {},
      );
      agents.push(await startAgent(options, () => {}));
    }
    // The scenario lasts SECONDS, and until every agent has polled at least once (a
    // condition, not a time: a loaded machine starts 200 agents slowly).
    const polled = () => central.logs.filter((l) => l.msg === 'request').length - baseline;
    await waitFor(
      () => (Date.now() - started >= SECONDS * 1000 && polled() >= AGENTS ? true : undefined),
      undefined,
      () => `${AGENTS} polls after ${SECONDS}s; seen ${polled()}`,
    );
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
  }

  const requests = central.logs
    .filter((l) => l.msg === 'request')
    .slice(baseline)
    .map((l) => ({ at: Date.parse(String(l.time)), status: l.status as number }));
  const statuses = new Map<number, number>();
  for (const r of requests) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  const perSecond = new Map<number, number>();
  for (const r of requests)
    perSecond.set(Math.floor((r.at - started) / 1000), (perSecond.get(Math.floor((r.at - started) / 1000)) ?? 0) + 1);
  const histogram = new Map<number, number>(); // requests in a second → how many seconds saw that many
  for (let s = 0; s < SECONDS; s++) histogram.set(perSecond.get(s) ?? 0, (histogram.get(perSecond.get(s) ?? 0) ?? 0) + 1);
  const report = [...histogram.entries()]
    .sort(([a], [b]) => a - b)
    .map(([n, secs]) => `${String(n).padStart(3)} req/s: ${'#'.repeat(Math.ceil(secs / 2))} ${secs}s`)
    .join('\n');
  t.diagnostic(
    `fleet of ${AGENTS}, poll ${INTERVAL}, ${SECONDS}s: ${requests.length} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, max ${Math.max(...perSecond.values())}/s\n${report}`,
  );
  console.log(`\nfleet request-rate histogram (seconds with N requests):\n${report}\n`);
  assert.equal(statuses.get(429) ?? 0, 0, 'rate limited');
  assert.equal(statuses.get(403) ?? 0, 0, 'banned');
  assert.ok(requests.length >= AGENTS, 'every agent polled at least once');
});
