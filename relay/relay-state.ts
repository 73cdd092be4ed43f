// Last-known-good on disk: one snapshot per environment under --state-dir, written
// with the agent's snapshot code (versioned, atomic, mode 0600, identity-checked, and
// sealed with AES-256-GCM when --state-key-file is given). A relay started while
// upstream is down restores it and serves it, marked stale, so new pods can start.

import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CANONICAL_ENVIRONMENTS, type Environment } from '../src/environments.ts';
import { describeError } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';
import { readSnapshot, snapshotPath, writeSnapshot, type Sealing, type Snapshot } from '../src/snapshot/snapshot.ts';
import type { NamespaceData } from '../src/store/config-store.ts';
import type { NamespaceSlots } from './namespace-slots.ts';
import type { StateSecret } from './state-secret.ts';

export class RelayState {
  readonly #dir: string;
  readonly #centralUrl: string;
  readonly #key: Buffer | undefined;
  readonly #slots: NamespaceSlots;
  readonly #logger: Logger;
  readonly #secret: StateSecret | undefined;
  readonly #dirty = new Set<Environment>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: {
    dir: string;
    centralUrl: string;
    key: Buffer | undefined;
    slots: NamespaceSlots;
    logger: Logger;
    secret?: StateSecret | undefined;
  }) {
    this.#secret = options.secret;
    this.#dir = options.dir;
    this.#centralUrl = options.centralUrl;
    this.#key = options.key;
    this.#slots = options.slots;
    this.#logger = options.logger;
  }

  /**
   * Restores the state into the slots: this replica's files, then (with --state-secret)
   * every replica's documents from the Secret, newest first; a namespace is taken from
   * the newest document that has it. Unusable state is logged and skipped, never fatal.
   */
  async restore(): Promise<number> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const present = new Set(await readdir(this.#dir));
    const sources: Array<{ environment: Environment; dir: string; from: string }> = CANONICAL_ENVIRONMENTS.filter((e) =>
      present.has(e),
    ).map((environment) => ({ environment, dir: join(this.#dir, environment), from: 'state-dir' }));
    const staging = join(this.#dir, '.from-secret');
    await rm(staging, { recursive: true, force: true });
    for (const [key, doc] of (await this.#secret?.load()) ?? []) {
      const environment = CANONICAL_ENVIRONMENTS.find((e) => e === doc.environment);
      if (environment === undefined) continue;
      const dir = join(staging, key);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(snapshotPath(dir), doc.text, { mode: 0o600 });
      sources.push({ environment, dir, from: `Secret key ${key}` });
    }
    const snapshots: Array<{ environment: Environment; from: string; snapshot: Snapshot }> = [];
    for (const { environment, dir, from } of sources) {
      try {
        const snapshot = await readSnapshot(dir, this.#identity(environment), this.#key);
        if (snapshot === undefined) continue;
        if (snapshot.sealedUnreadable) throw new Error(`sealed state not readable: ${snapshot.sealedUnreadable}`);
        snapshots.push({ environment, from, snapshot });
      } catch (error) {
        this.#logger.warn({ environment, from, err: describeError(error) }, 'state ignored; that environment starts cold');
      }
    }
    await rm(staging, { recursive: true, force: true });
    let restored = 0;
    for (const { environment, from, snapshot } of snapshots.sort((a, b) => b.snapshot.savedAt - a.snapshot.savedAt)) {
      const count = this.#slots.restore(environment, snapshot.namespaces, snapshot.cursor.lastSuccessAt);
      restored += count;
      if (count > 0)
        this.#logger.info(
          { environment, from, namespaces: count, savedAt: new Date(snapshot.savedAt).toISOString() },
          'restored last-known-good state',
        );
    }
    return restored;
  }

  /** Saves `environment` soon; a burst of changes ends in one write. */
  changed(environment: Environment): void {
    this.#dirty.add(environment);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, 1000);
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const environments = [...this.#dirty];
    this.#dirty.clear();
    this.#writing = this.#writing.then(async () => {
      for (const environment of environments) {
        try {
          await this.#write(environment);
        } catch (error) {
          this.#dirty.add(environment);
          this.#logger.warn({ environment, err: describeError(error) }, 'saving the state failed; the previous state is kept');
        }
      }
    });
    await this.#writing;
    await this.#secret?.flush();
  }

  async #write(environment: Environment): Promise<void> {
    const namespaces = new Map<string, NamespaceData>();
    let oldest: number | undefined;
    for (const slot of this.#slots.slots()) {
      if (slot.environment !== environment || !slot.store.loaded) continue;
      namespaces.set(slot.namespace, slot.data);
      if (slot.lastSuccessAt !== undefined) oldest = Math.min(oldest ?? slot.lastSuccessAt, slot.lastSuccessAt);
    }
    const dir = join(this.#dir, environment);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const sealing: Sealing = { namespaces: [...namespaces.keys()], key: this.#key };
    await writeSnapshot(
      dir,
      this.#identity(environment),
      { revision: this.#slots.revision, changedAt: Date.now(), namespaces },
      { etags: {}, lastEventId: undefined, lastSuccessAt: oldest },
      this.#key ? sealing : undefined,
    );
    this.#secret?.put(environment, await readFile(snapshotPath(dir)));
  }

  #identity(environment: Environment) {
    return { environment, centralUrl: this.#centralUrl };
  }
}
