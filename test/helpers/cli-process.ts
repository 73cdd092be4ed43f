// Runs the real `llm-config` CLI as a child process (the same Node binary as the test
// runner), collects its JSON log lines from stderr and its stdout, and waits for
// lines, exit codes and files. Every wait is bounded.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.ts';

export const CLI = fileURLToPath(new URL('../../bin/llm-config.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The Node flags the images run the programs with (Dockerfile ENTRYPOINT); benches use them too. */
export const IMAGE_NODE_FLAGS = ['--max-semi-space-size=1'];

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export class CliProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly stderrText: string[] = [];
  stdout = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string> = {}, nodeFlags: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeFlags, CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
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
  }

  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    return waitFor(
      () => this.logs.find(predicate),
      timeoutMs,
      () => `log line not seen; logs:\n${this.stderrText.slice(-20).join('\n')}`,
    );
  }

  /** Resolves with the URL a server logged as bound. */
  async listeningUrl(): Promise<string> {
    return String((await this.waitForLog((l) => l.msg === 'listening')).url);
  }

  async exitCode(timeoutMs = 15_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exitCode();
  }
}

export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
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

/** Runs the CLI and stops it (SIGTERM, then SIGKILL) when the test ends, before earlier cleanups. */
export function spawnCli(t: TestContextLike, args: string[], env: Record<string, string> = {}): CliProcess {
  const proc = new CliProcess(args, env);
  defer(t, () => proc.stop());
  return proc;
}

export async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

/** Starts the reference central API on port 0 and returns it with its URL. */
export async function startCentral(t: TestContextLike, args: string[] = []): Promise<{ proc: CliProcess; url: string }> {
  const proc = spawnCli(t, ['dev-server', '--addr', '127.0.0.1:0', '--log-level', 'debug', ...args]);
  return { proc, url: await proc.listeningUrl() };
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
