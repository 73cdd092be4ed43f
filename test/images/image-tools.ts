// buildah and podman as this kind of machine runs them (root, no image registry, hybrid
// cgroups, no CAP_SYS_RESOURCE): vfs storage in a private graphroot kept between runs
// (so the base image and build layers are cached), chroot isolation, runc with cgroupfs,
// explicit ulimits, the host network. Each flag was needed for an exact error (issue 13).

import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/cli-process.ts';

/** Storage and the base image survive between runs here (LLM_CONFIG_IMAGES_DIR to move it). */
export const STATE_DIR = process.env.LLM_CONFIG_IMAGES_DIR ?? join(homedir(), '.cache', 'llm-config-images');
/** The host's CA bundle (Debian's ca-certificates): npm inside a build step must trust what the host trusts. */
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';
const ULIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];

export type Run = { code: number; stdout: string; stderr: string; ms: number };

export async function containerEnv(): Promise<NodeJS.ProcessEnv> {
  await mkdir(join(STATE_DIR, 'graph'), { recursive: true });
  await mkdir(join(STATE_DIR, 'run'), { recursive: true });
  const conf = join(STATE_DIR, 'storage.conf');
  await writeFile(conf, `[storage]\ndriver = "vfs"\ngraphroot = "${join(STATE_DIR, 'graph')}"\nrunroot = "${join(STATE_DIR, 'run')}"\n`);
  // Build steps get an npmrc naming the CA bundle; both are bind mounts, never in a layer.
  await writeFile(join(STATE_DIR, 'build-npmrc'), `cafile=${HOST_CA}\n`);
  return { ...process.env, CONTAINERS_STORAGE_CONF: conf };
}

/** Runs a program to completion; never throws on a non-zero exit. */
export function run(env: NodeJS.ProcessEnv, file: string, args: readonly string[], timeoutMs: number): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd: REPO, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Runs a long step with its output streamed to our stderr (a build is minutes of progress). */
export function runLoud(env: NodeJS.ProcessEnv, file: string, args: readonly string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'], timeout: timeoutMs });
    child.once('exit', (code) => resolve(code ?? 1));
    child.once('error', () => resolve(127));
  });
}

export function buildArgs(dockerfile: string, tag: string, stateDir = STATE_DIR): string[] {
  return [
    'build',
    '--isolation',
    'chroot',
    '--layers',
    '--pull=never',
    '--network',
    'host',
    ...ULIMITS,
    '--volume',
    `${HOST_CA}:${HOST_CA}:ro`,
    // npm's global config file in the base image's prefix (/usr/local)
    '--volume',
    `${join(stateDir, 'build-npmrc')}:/usr/local/etc/npmrc:ro`,
    '--file',
    dockerfile,
    '--tag',
    tag,
    '.',
  ];
}

/** `podman run` hardened as the chart runs the containers: read-only root, no capabilities, the image's own user. */
export function podmanRunArgs(
  image: string,
  options: { mounts?: string[]; env?: Record<string, string>; name?: string; entrypoint?: string },
  args: string[],
): string[] {
  return [
    '--cgroup-manager',
    'cgroupfs',
    '--runtime',
    'runc',
    'run',
    '--rm',
    '--pull=never',
    '--network',
    'host',
    '--read-only',
    '--cap-drop=all',
    '--security-opt',
    'no-new-privileges',
    ...ULIMITS,
    ...(options.name ? ['--name', options.name] : []),
    ...(options.entrypoint ? ['--entrypoint', options.entrypoint] : []),
    ...(options.mounts ?? []).flatMap((m) => ['--volume', m]),
    ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    image,
    ...args,
  ];
}

/** Bytes of an image as stored (uncompressed layers). */
export async function imageSize(env: NodeJS.ProcessEnv, image: string): Promise<number> {
  const result = await run(env, 'podman', ['image', 'inspect', '--format', '{{.Size}}', image], 60_000);
  if (result.code !== 0) throw new Error(`podman image inspect ${image}: ${result.stderr}`);
  return Number(result.stdout.trim());
}

/** Node's NODE_DEBUG_NATIVE=COMPILE_CACHE lines, counted: what was served from the cache and what was compiled. */
export function compileCacheCounts(stderr: string): { accepted: number; transpiled: number; missed: number; rejected: number } {
  const count = (re: RegExp) => stderr.match(re)?.length ?? 0;
  return {
    accepted: count(/^\[compile cache\] V8 code cache for .* was accepted/gm),
    transpiled: count(/^\[compile cache\] retrieving transpile cache for /gm),
    missed: count(/^\[compile cache\] .* was not initialized/gm) + count(/^\[compile cache\] no transpile cache for /gm),
    rejected:
      count(/^\[compile cache\] .* (was rejected|mismatch)/gm) +
      count(/^\[compile cache\] reading cache from .*\.\.\. (?!success|no such file).*$/gm),
  };
}
