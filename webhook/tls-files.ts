// Serving certificate and key from files (cert-manager or a Secret volume), reloaded
// into the running HTTPS server when they rotate — no restart. A half-rotated pair (new
// cert, old key) fails to load and the previous context stays in use.

import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { dirname } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../src/logger.ts';
import { describeError } from '../src/errors.ts';

export type CertificatePair = { readonly cert: string; readonly key: string };

export async function readPair(certFile: string, keyFile: string): Promise<CertificatePair> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  createSecureContext({ cert, key }); // throws when they do not match or do not parse
  return { cert, key };
}

export class CertificateFiles {
  readonly #certFile: string;
  readonly #keyFile: string;
  readonly #logger: Logger;
  readonly #onChange: (pair: CertificatePair) => void;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(certFile: string, keyFile: string, logger: Logger, onChange: (pair: CertificatePair) => void) {
    this.#certFile = certFile;
    this.#keyFile = keyFile;
    this.#logger = logger;
    this.#onChange = onChange;
  }

  async watch(): Promise<void> {
    const dirs = [...new Set([dirname(this.#certFile), dirname(this.#keyFile)])];
    this.#watcher = watch(dirs, { depth: 0, ignoreInitial: true, followSymlinks: false });
    // cert and key change in two events; wait for both before loading
    this.#watcher.on('all', () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#reload(), 200);
    });
    await new Promise<void>((resolve) => this.#watcher!.once('ready', () => resolve()));
  }

  async #reload(): Promise<void> {
    try {
      this.#onChange(await readPair(this.#certFile, this.#keyFile));
      this.#logger.info({ cert: this.#certFile }, 'serving certificate reloaded');
    } catch (error) {
      this.#logger.warn({ err: describeError(error) }, 'certificate files changed but do not load yet; keeping the current certificate');
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#watcher?.close();
  }
}
