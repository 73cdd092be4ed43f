// A small file (a bearer token, a certificate) kept in memory and re-read when it
// changes on disk. Kubernetes rotates projected tokens and Secret volumes by swapping
// a `..data` symlink in the parent directory, so we watch the directory, not the
// file: a watch on the old inode would never fire again after the swap.

import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../logger.ts';

export class WatchedFile {
  readonly path: string;
  readonly #logger: Logger;
  readonly #onChange: (() => void) | undefined;
  #cached: string | undefined;
  #lastGood: string | undefined;
  #watcher: FSWatcher | undefined;

  constructor(path: string, options: { logger: Logger; onChange?: () => void }) {
    this.path = path;
    this.#logger = options.logger;
    this.#onChange = options.onChange;
  }

  /** Starts watching; the first read happens here so a missing file fails at start. */
  async start(): Promise<string> {
    const content = await this.read();
    // chokidar loads with the first watched file: an agent with no token file never pays for it.
    const { watch } = await import('chokidar');
    this.#watcher = watch(dirname(this.path), { depth: 0, ignoreInitial: true, followSymlinks: false });
    // Re-read at once so `current()` stays fresh for synchronous callers (local API token checks).
    const name = basename(this.path);
    this.#watcher.on('all', (_event, changed) => {
      // Only this file, or a kubelet-style ..data swap; siblings are none of our business.
      const entry = basename(changed);
      if (entry !== name && !entry.startsWith('..')) return;
      this.invalidate();
      this.read().catch((error: unknown) =>
        this.#logger.warn({ err: (error as Error).message, path: this.path }, 'file re-read failed; keeping the previous content'),
      );
    });
    this.#watcher.on('error', (error) => this.#logger.warn({ err: error, path: this.path }, 'file watch failed'));
    await new Promise<void>((resolve) => this.#watcher!.once('ready', () => resolve()));
    return content;
  }

  /** The current content, trimmed. A file caught empty mid-write keeps the previous content. */
  async read(): Promise<string> {
    if (this.#cached !== undefined) return this.#cached;
    const content = (await readFile(this.path, 'utf8')).trim();
    if (content === '' && this.#lastGood !== undefined) return this.#lastGood;
    this.#cached = content;
    this.#lastGood = content;
    return content;
  }

  /** The last content read, without I/O (undefined before the first read). */
  current(): string | undefined {
    return this.#lastGood;
  }

  /** Forget the cached content; the next read goes to disk (also used after a 401). */
  invalidate(): void {
    if (this.#cached === undefined) return;
    this.#cached = undefined;
    this.#logger.info({ path: this.path }, 'file changed on disk; will re-read');
    this.#onChange?.();
  }

  async close(): Promise<void> {
    await this.#watcher?.close();
  }
}
