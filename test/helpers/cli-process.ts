// Runs the real `llm-config` CLI as a child process (the same Node binary as the test
// runner), collects its JSON log lines from stderr and its stdout, and waits for
// lines, exit codes and files. Every wait is bounded.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.ts';

export const CLI = fileURLToPath(new URL('../../bin/llm-config.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The Node flags the images run the programs with (Dockerfile ENTRYPOINT): what every
 * injected agent and init container runs, and what the benches measure them with. No
 * Maglev and a late TurboFan: nothing is optimised during the start (docs/sizing.md).
 */
export const IMAGE_NODE_FLAGS = ['--max-semi-space-size=1', '--no-maglev', '--invocation-count-for-turbofan=30000'];
/**
 * The flags of the chart's webhook and relay (one or two per cluster, latency before
 * memory): their Deployments override the ENTRYPOINT with `node <these> <CLI>`
 * (test/chart/matrix.test.ts), and the main image warms its compile cache for both sets.
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=1'];
/** The path of the CLI inside the images. */
export const IMAGE_CLI = '/app/bin/llm-config.js';

/**
 * Warms the compile cache the CLI uses (Node's default directory: bin/llm-config.js
 * enables it without one) for one set of V8 flags, as the Dockerfiles do at build time:
 * V8 keys the cache by its flags, and a miss loads Node's TypeScript stripper (+18 MiB),
 * which would be measured as the program's own memory.
 */
export function warmCompileCache(flags: readonly string[]): void {
  // A CliProcess child has this process's TMPDIR (childEnv), so its Node picks this directory.
  const cache = join(tmpdir(), 'node-compile-cache');
  const env = childEnv();
  execFileSync(process.execPath, [...flags, join(REPO, 'bin/image-prune.ts'), 'warm', cache], { cwd: REPO, stdio: 'pipe', env });
  execFileSync(process.execPath, [...flags, CLI, '--help'], { cwd: REPO, stdio: 'pipe', env });
}

/** The environment every CliProcess child gets, before its own additions. */
function childEnv(): Record<string, string> {
  const { PATH = '', HOME = '/tmp', TMPDIR } = process.env;
  return { PATH, HOME, ...(TMPDIR !== undefined && { TMPDIR }) };
}

/**
 * The environment the images set that changes how the process uses memory (Dockerfile
 * ENV; docs/sizing.md): glibc hands buffers over 128 KiB back to the kernel when freed.
 * Benches and the never-OOM run use it too; test/unit/image-settings.test.ts keeps both
 * Dockerfiles in step with these two constants.
 */
export const IMAGE_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/**
 * How long a wait may take by default: half the test timeout (the runner passes
 * `--test-timeout` to each test file's process), so a wait that fails usually does so
 * before the test times out and names what it waited for; 10 minutes outside the
 * runner (bench/). A loaded CI machine (load ~16 on 2 cores) takes tens of seconds to
 * start a program, so no wait has a short fixed bound: the test timeout is the bound.
 */
export const WAIT_MS = defaultWaitMs(process.execArgv);

export function defaultWaitMs(execArgv: readonly string[]): number {
  const flag = execArgv.findLast((a) => a.startsWith('--test-timeout='));
  const testTimeout = Number(flag?.slice('--test-timeout='.length));
  if (!Number.isFinite(testTimeout) || testTimeout <= 0) return 600_000;
  return Math.max(testTimeout / 2, 1000);
}

export class CliProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly stderrText: string[] = [];
  stdout = '';
  readonly exited: Promise<number | null>;
  /** Exited and its output fully read: no further log line can come. */
  #closed = false;

  constructor(args: string[], env: Record<string, string> = {}, nodeFlags: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeFlags, CLI, ...args], {
      env: { ...childEnv(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        this.stderrText.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // a plain one-line error, kept in stderrText
        }
      }
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
    this.child.once('close', () => {
      this.#closed = true;
    });
  }

  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = WAIT_MS): Promise<LogLine> {
    const describe = () => `log line not seen; logs:\n${this.stderrText.slice(-20).join('\n')}`;
    return waitFor(
      () => {
        const closed = this.#closed; // read before searching: a line read before close is in `logs`
        const line = this.logs.find(predicate);
        // A process that has exited logs nothing more: fail now rather than at the test timeout.
        if (line === undefined && closed) throw new Error(`process exited (code ${this.child.exitCode}) before the ${describe()}`);
        return line;
      },
      timeoutMs,
      describe,
    );
  }

  /** Resolves with the URL a server logged as bound. */
  async listeningUrl(): Promise<string> {
    return String((await this.waitForLog((l) => l.msg === 'listening')).url);
  }

  /** The exit code; a process still running after `timeoutMs` is killed (SIGKILL) and this is null. */
  async exitCode(timeoutMs = WAIT_MS): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Signals the process and returns its exit code; after `timeoutMs` it is killed (SIGKILL) and this is null. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = WAIT_MS): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exitCode(timeoutMs);
  }
}

/** Polls `probe` until it returns a value other than undefined or false. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = WAIT_MS,
  describe = () => 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type TestContextLike = { after: (fn: () => Promise<void>) => void };

export async function tempDir(t: TestContextLike): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'llmc-test-'));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Runs the CLI and stops it when the test ends, before earlier cleanups: SIGTERM, then
 * SIGKILL after a grace period (cleanup asserts nothing, so it need not wait long).
 */
export function spawnCli(t: TestContextLike, args: string[], env: Record<string, string> = {}): CliProcess {
  const proc = new CliProcess(args, env);
  defer(t, () => proc.stop('SIGTERM', 15_000));
  return proc;
}

export async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

/** Starts the reference central API on port 0 and returns it with its URL. */
export async function startCentral(t: TestContextLike, args: string[] = []): Promise<{ proc: CliProcess; url: string }> {
  const proc = spawnCli(t, devServerArgs(args));
  return { proc, url: await proc.listeningUrl() };
}

/** The argv of a debug-logging `llm-config dev-server` on a free loopback port, then `args`. */
export function devServerArgs(args: readonly string[] = []): string[] {
  return ['dev-server', '--addr', '127.0.0.1:0', '--log-level', 'debug', ...args];
}

/** The argv of `llm-config relay` in front of `centralUrl`, listening on `addr` (a free loopback port unless given), admin on a free port, then `args`. */
export function relayArgs(centralUrl: string, args: readonly string[] = [], addr = '127.0.0.1:0'): string[] {
  return ['relay', '--central-url', centralUrl, '--addr', addr, '--admin-addr', '127.0.0.1:0', ...args];
}

/** argv for a webhook serving the certificate pair `dir/tls.crt`, `dir/tls.key`, with no Kubernetes API. */
export function webhookArgs(dir: string, addr = '127.0.0.1:0', args: readonly string[] = []): string[] {
  return [
    'webhook',
    ...['--addr', addr, '--tls-cert-file', join(dir, 'tls.crt'), '--tls-key-file', join(dir, 'tls.key')],
    ...['--no-namespace-defaults', '--central-url', 'http://central:8080', ...args],
  ];
}

/** POST a value to the central API. */
export async function writeValue(
  url: string,
  namespace: string,
  key: string,
  value: unknown,
  env = 'development',
  headers: Record<string, string> = {},
): Promise<unknown> {
  const response = await fetch(`${url}/api/v1/configs/${encodeURIComponent(namespace)}/${encodeURIComponent(key)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ value, env }),
  });
  if (!response.ok) throw new Error(`write failed: ${response.status} ${await response.text()}`);
  return response.json();
}

export interface AgentArgsOptions {
  /** The central (or relay) URL the agent syncs from. */
  url: string;
  /** The `--namespaces` value, comma-separated. */
  namespaces: string;
  /** The test's directory: files go to `dir/files`, the cache to `dir/cache`. */
  dir: string;
  /** `--output-dir`, when not `dir/files`. */
  outputDir?: string;
  /** `--cache-dir`, when not `dir/cache`. */
  cacheDir?: string;
  /** `--http-addr`; `127.0.0.1:0` unless given. */
  httpAddr?: string;
  /** `--socket` (a path or `off`); the flag is left out when not given. */
  socket?: string;
  /** Further flags, after the common ones. */
  extra?: readonly string[];
}

/** The argv of `llm-config agent` as the tests start it: loopback, ephemeral ports, files and cache under `dir`. */
export function agentArgs({
  url,
  namespaces,
  dir,
  outputDir,
  cacheDir,
  httpAddr = '127.0.0.1:0',
  socket,
  extra = [],
}: AgentArgsOptions): string[] {
  return [
    'agent',
    '--central-url',
    url,
    '--namespaces',
    namespaces,
    '--output-dir',
    outputDir ?? join(dir, 'files'),
    '--cache-dir',
    cacheDir ?? join(dir, 'cache'),
    '--http-addr',
    httpAddr,
    '--admin-addr',
    '127.0.0.1:0',
    ...(socket === undefined ? [] : ['--socket', socket]),
    ...extra,
  ];
}
