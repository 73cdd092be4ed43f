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
import type { Logger } from '../logger.ts';
import { syncDirectory } from './write-file-atomic.ts';

export const DATA_LINK = '..data';
const DATA_LINK_TEMP = '..data_tmp';
/** What #writeDataDir names a data directory: `..YYYY_MM_DD_hh_mm_ss.` plus mkdtemp's suffix. */
const DATA_DIR_NAME = /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.[A-Za-z0-9]{6}$/;

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

/**
 * Who besides the writer's own uid must read the files (SPEC §5). `group`: modes as
 * given (the pod's fsGroup owns the volume, so a mode with group read reaches the app);
 * `all`: at least 0444, for pods without fsGroup, where the volume is private to the pod.
 */
export type ReadableBy = 'group' | 'all';

function readableByAll(payload: FilePayload): FilePayload {
  return new Map([...payload].map(([name, file]) => [name, { content: file.content, mode: file.mode | 0o444 }]));
}

type Written = { readonly dataDir: string; readonly files: ReadonlyMap<string, { digest: string; mode: number }> };

function digestOf(content: Uint8Array | string): string {
  return createHash('sha256').update(content).digest('base64');
}

export class AtomicWriter {
  readonly dir: string;
  /** What this writer last published, so "unchanged" needs no disk reads; undefined until then. */
  #written: Written | undefined;

  readonly readableBy: ReadableBy;
  readonly #logger: Pick<Logger, 'warn'> | undefined;
  #foreignLink: string | undefined;

  constructor(dir: string, options: { readableBy?: ReadableBy; logger?: Pick<Logger, 'warn'> } = {}) {
    this.dir = dir;
    this.readableBy = options.readableBy ?? 'group';
    this.#logger = options.logger;
  }

  async write(requested: FilePayload): Promise<WriteResult> {
    for (const name of requested.keys()) {
      if (!isPlainFileName(name)) throw new OutputWriteError(`"${name}" is not a plain file name`);
    }
    const payload = this.readableBy === 'all' ? readableByAll(requested) : requested;
    let next: string | undefined;
    let swapped: string | undefined;
    try {
      await mkdir(this.dir, { recursive: true });
      await this.#checkNamesAreOurs(payload);
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
      next = await this.#writeDataDir(payload);
      await this.#swapDataLink(next);
      swapped = next;
      this.#written = { dataDir: next, files: digests };
      await this.#linkVisibleNames(payload);
      await this.#removeStale(payload, next);
      return 'written';
    } catch (error) {
      if (error instanceof OutputWriteError) throw error;
      const reason = (error as Error).message;
      // Once ..data has moved, "previous files kept" would be false: say what is true, and
      // still remove the older data directories so that repeated failures leak nothing.
      if (swapped === undefined) {
        if (next !== undefined) await rm(join(this.dir, next), { recursive: true, force: true }).catch(() => undefined);
        throw new OutputWriteError(`writing ${this.dir} failed (previous files kept): ${reason}`, { cause: error });
      }
      await this.#removeStale(payload, swapped).catch(() => undefined);
      throw new OutputWriteError(`writing ${this.dir}: the new files are in ${DATA_LINK}, but linking their names failed: ${reason}`, {
        cause: error,
      });
    }
  }

  /**
   * Every visible name must be free, a symlink or a regular file (both replaced by one
   * rename). A directory or anything else there is not something this writer made and may
   * hold someone's data, so nothing is written and the error says what to remove.
   */
  async #checkNamesAreOurs(payload: FilePayload): Promise<void> {
    for (const name of [DATA_LINK, ...payload.keys()]) {
      const info = await lstat(join(this.dir, name)).catch(() => undefined);
      if (info === undefined || info.isSymbolicLink() || (info.isFile() && name !== DATA_LINK)) continue;
      const kind = info.isDirectory() ? 'a directory' : info.isFile() ? 'a regular file' : 'a special file';
      throw new OutputWriteError(
        `writing ${this.dir} refused (previous files kept, nothing written): ${join(this.dir, name)} is ${kind} this agent did not create; ` +
          `remove it so that ${name === DATA_LINK ? 'the files' : `"${name}"`} can be published`,
      );
    }
  }

  /** The names currently published, read from the data directory `..data` names when it is ours. */
  async read(name: string): Promise<Buffer> {
    const current = await this.#currentDataDir();
    if (current === undefined) throw new OutputWriteError(`${join(this.dir, DATA_LINK)} names no data directory of this writer`);
    return readFile(join(this.dir, current, name));
  }

  /**
   * The data directory `..data` names, when it is one of ours: a `..<timestamp>.<suffix>`
   * directory right here. Anything else (an absolute link, one leading out of the
   * directory, a dangling one) is not ours: undefined, so the next swap replaces the link
   * itself with one rename, never following it nor touching what it points to.
   */
  async #currentDataDir(): Promise<string | undefined> {
    let target: string;
    try {
      target = await readlink(join(this.dir, DATA_LINK));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (DATA_DIR_NAME.test(target) && (await lstat(join(this.dir, target)).catch(() => undefined))?.isDirectory()) return target;
    if (this.#foreignLink !== target) {
      this.#foreignLink = target; // once per planted link, not once per look at it
      this.#logger?.warn(
        { dir: this.dir, link: target.slice(0, 300) },
        `${DATA_LINK} does not point to a data directory this writer made (a ..<timestamp> directory in ${this.dir}): replacing the link; its target is left untouched`,
      );
    }
    return undefined;
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
      // Keep the set-group-ID bit the directory inherited from a volume kubelet prepared for
      // the pod's fsGroup: files created inside then belong to that group, which is how an
      // app running as another uid reads them (--readable-by=group).
      await chmod(path, 0o755 | ((await stat(path)).mode & 0o2000));
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
    await rm(temp, { recursive: true, force: true }); // a `..` name is ours, whatever is there
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
