// Serving certificate and key from files (cert-manager or a Secret volume), reloaded
// into the running HTTPS server when they rotate — no restart. A half-rotated pair (new
// cert, old key) fails to load and the previous context stays in use.

import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { basename, dirname, join, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../src/logger.ts';
import { describeError } from '../src/errors.ts';

export type CertificatePair = { readonly cert: string; readonly key: string };

export async function readPair(certFile: string, keyFile: string): Promise<CertificatePair> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  createSecureContext({ cert, key }); // throws when they do not match or do not parse
  return { cert, key };
}

/**
 * Watches the certificate and key only: their own names, and kubelet's `..data` link in
 * their directories (a Secret volume swaps `..data` to rotate; tls.crt itself never
 * changes there). Anything else written beside them (a log, a temporary file) is ignored.
 */
export class CertificateFiles {
  readonly #certFile: string;
  readonly #keyFile: string;
  readonly #logger: Logger;
  readonly #onChange: (pair: CertificatePair) => void;
  readonly #watched: ReadonlySet<string>;
  #current: CertificatePair | undefined;
  #changed = new Set<string>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** `current` is the pair being served: a rewrite with the same content is then not reported. */
  constructor(certFile: string, keyFile: string, logger: Logger, onChange: (pair: CertificatePair) => void, current?: CertificatePair) {
    this.#certFile = resolve(certFile);
    this.#keyFile = resolve(keyFile);
    this.#logger = logger;
    this.#onChange = onChange;
    this.#current = current;
    const links = [dirname(this.#certFile), dirname(this.#keyFile)].map((dir) => join(dir, '..data'));
    this.#watched = new Set([this.#certFile, this.#keyFile, ...links]);
  }

  async watch(): Promise<void> {
    const dirs = [...new Set([dirname(this.#certFile), dirname(this.#keyFile)])];
    this.#watcher = watch(dirs, { depth: 0, ignoreInitial: true, followSymlinks: false });
    this.#watcher.on('all', (_event, path) => {
      if (!this.#watched.has(resolve(path))) return;
      this.#changed.add(basename(path));
      // cert and key change in two events: wait for both before loading
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#reload(), 200);
    });
    await new Promise<void>((resolve) => this.#watcher!.once('ready', () => resolve()));
  }

  async #reload(): Promise<void> {
    const changed = [...this.#changed].sort();
    this.#changed.clear();
    try {
      const pair = await readPair(this.#certFile, this.#keyFile);
      if (this.#current && pair.cert === this.#current.cert && pair.key === this.#current.key) {
        this.#logger.debug({ changed }, 'certificate files touched; content unchanged');
        return;
      }
      this.#current = pair;
      this.#onChange(pair);
      this.#logger.info({ cert: this.#certFile, changed }, 'serving certificate reloaded');
    } catch (error) {
      this.#logger.warn(
        { err: describeError(error), changed },
        'certificate files changed but do not load yet; keeping the current certificate',
      );
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#watcher?.close();
  }
}
