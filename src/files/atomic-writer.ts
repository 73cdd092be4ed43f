// The output directory, laid out as kubelet's AtomicWriter lays out ConfigMap volumes:
//
//   <dir>/..2026_11_29_17_35_18.ab12cd/   one directory per published set of files
//   <dir>/..data -> ..2026_11_29_…        swapped with one rename(2)
//   <dir>/app.json -> ..data/app.json     what applications open
//
// A multi-file update becomes visible in one step, and a crash at any point leaves the
// previous set whole. Apps that watch for changes should watch `..data`.

import { lstat, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, chmod, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { OutputWriteError } from '../errors.ts';
import { syncDirectory } from './write-file-atomic.ts';

export const DATA_LINK = '..data';
const DATA_LINK_TEMP = '..data_tmp';

export type FilePayload = ReadonlyMap<string, { readonly content: Uint8Array | string; readonly mode: number }>;
export type WriteResult = 'written' | 'unchanged';

/** A plain file name: no separators, no leading dot, no NUL, at most 255 bytes. */
export function isPlainFileName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= 255 && !/[/\\\0]/.test(name) && !name.startsWith('.');
}

function sameFiles(a: Written['files'], b: Written['files']): boolean {
  if (a.size !== b.size) return false;
  for (const [name, file] of b) {
    const other = a.get(name);
    if (other?.digest !== file.digest || other.mode !== file.mode) return false;
  }
  return true;
}

function timestampPrefix(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

type Written = { readonly dataDir: string; readonly files: ReadonlyMap<string, { digest: string; mode: number }> };

function digestOf(content: Uint8Array | string): string {
  return createHash('sha256').update(content).digest('base64');
}

export class AtomicWriter {
  readonly dir: string;
  /** What this writer last published, so "unchanged" needs no disk reads; undefined until then. */
  #written: Written | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  async write(payload: FilePayload): Promise<WriteResult> {
    for (const name of payload.keys()) {
      if (!isPlainFileName(name)) throw new OutputWriteError(`"${name}" is not a plain file name`);
    }
    try {
      await mkdir(this.dir, { recursive: true });
      const current = await this.#currentDataDir();
      const digests = new Map([...payload].map(([name, file]) => [name, { digest: digestOf(file.content), mode: file.mode }]));
      // ..data still where we left it: compare in memory. Otherwise (first write after a start,
      // or swapped by someone else) read what is there.
      const unchanged =
        current !== undefined &&
        (this.#written?.dataDir === current ? sameFiles(this.#written.files, digests) : await this.#sameAsOnDisk(current, payload));
      if (unchanged) {
        this.#written = { dataDir: current!, files: digests };
        return 'unchanged';
      }
      const next = await this.#writeDataDir(payload);
      await this.#swapDataLink(next);
      await this.#linkVisibleNames(payload);
      await this.#removeStale(payload, next);
      this.#written = { dataDir: next, files: digests };
      return 'written';
    } catch (error) {
      if (error instanceof OutputWriteError) throw error;
      throw new OutputWriteError(`writing ${this.dir} failed (previous files kept): ${(error as Error).message}`, { cause: error });
    }
  }

  /** The names currently published, read back through `..data`. */
  async read(name: string): Promise<Buffer> {
    return readFile(join(this.dir, DATA_LINK, name));
  }

  async #currentDataDir(): Promise<string | undefined> {
    try {
      return await readlink(join(this.dir, DATA_LINK));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async #sameAsOnDisk(dataDir: string, payload: FilePayload): Promise<boolean> {
    const names = (await readdir(join(this.dir, dataDir))).sort();
    if (names.join('\0') !== [...payload.keys()].sort().join('\0')) return false;
    for (const [name, file] of payload) {
      const path = join(this.dir, dataDir, name);
      if (((await stat(path)).mode & 0o777) !== file.mode) return false;
      if (!Buffer.from(file.content).equals(await readFile(path))) return false;
    }
    return true;
  }

  async #writeDataDir(payload: FilePayload): Promise<string> {
    const path = await mkdtemp(join(this.dir, timestampPrefix()));
    try {
      await chmod(path, 0o755);
      for (const [name, file] of payload) {
        const handle = await open(join(path, name), 'wx', file.mode);
        try {
          await handle.writeFile(file.content);
          await handle.chmod(file.mode); // open's mode is filtered by the umask
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await syncDirectory(path);
    } catch (error) {
      await rm(path, { recursive: true, force: true });
      throw error;
    }
    return path.slice(this.dir.length + 1);
  }

  async #swapDataLink(dataDir: string): Promise<void> {
    const temp = join(this.dir, DATA_LINK_TEMP);
    await rm(temp, { force: true });
    await symlink(dataDir, temp);
    await rename(temp, join(this.dir, DATA_LINK));
    await syncDirectory(this.dir);
  }

  async #linkVisibleNames(payload: FilePayload): Promise<void> {
    for (const name of payload.keys()) {
      const visible = join(this.dir, name);
      const target = join(DATA_LINK, name);
      const existing = await readlink(visible).catch(() => undefined);
      if (existing === target) continue;
      // Replace whatever is there (an old regular file, a wrong link) in one rename.
      const temp = join(this.dir, `.${name}.link.tmp`);
      await rm(temp, { force: true });
      await symlink(target, temp);
      await rename(temp, visible);
    }
  }

  async #removeStale(payload: FilePayload, current: string): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.startsWith('..') && name !== DATA_LINK && name !== current) {
        await rm(path, { recursive: true, force: true });
      } else if (!name.startsWith('.') && !payload.has(name)) {
        // Only links we made: never delete a file someone else put here.
        const link = await lstat(path).then((s) => (s.isSymbolicLink() ? readlink(path) : undefined));
        if (link === join(DATA_LINK, name)) await rm(path, { force: true });
      }
    }
  }
}
