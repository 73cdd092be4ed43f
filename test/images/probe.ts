// Runs inside an image under test (mounted read-only by images.test.ts, started with
// `--entrypoint node`): runs `<command> --help` for each command given through the
// image's own ENTRYPOINT (PROBE_ENTRYPOINT, as JSON) with Node's compile-cache debug
// output on, then times PROBE_TIMED's --help with the warmed cache and cold (the cache
// pointed at a directory that cannot exist on the read-only root). Prints one JSON object.

import { spawnSync } from 'node:child_process';

const entrypoint = JSON.parse(process.env.PROBE_ENTRYPOINT ?? '[]') as string[];
const timed = process.env.PROBE_TIMED ?? 'agent';
const ROUNDS = 7;
const COLD_CACHE = '/nonexistent/compile-cache';

function runEntry(args: string[], env: NodeJS.ProcessEnv): { code: number; stdout: string; stderr: string; ms: number } {
  const started = performance.now();
  const result = spawnSync(entrypoint[0]!, [...entrypoint.slice(1), ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, ms: performance.now() - started };
}

const commands = process.argv.slice(2).map((command) => {
  const { code, stdout, stderr } = runEntry([command, '--help'], { ...process.env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
  return { command, code, stdout, stderr };
});

const warmMs: number[] = [];
const coldMs: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  warmMs.push(runEntry([timed, '--help'], process.env).ms);
  coldMs.push(runEntry([timed, '--help'], { ...process.env, NODE_COMPILE_CACHE: COLD_CACHE }).ms);
}
// The cold figure is only honest if nothing was served from a cache.
const coldCheck = runEntry([timed, '--help'], { ...process.env, NODE_COMPILE_CACHE: COLD_CACHE, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
const coldAccepted = coldCheck.stderr.match(/was accepted/g)?.length ?? 0;

process.stdout.write(`${JSON.stringify({ commands, warmMs, coldMs, coldAccepted })}\n`);
