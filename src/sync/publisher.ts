// Moves files and snapshot together with the store: every new revision is rendered,
// the snapshot is saved, then the files are swapped in atomically (one new data
// directory, one rename). Snapshot first, so the snapshot is never older than the
// files: a crash between the two leaves files that the restarted agent brings
// forward from the snapshot, never files that a restart would roll back. When the
// snapshot cannot be written, the old one is removed before the files move on (a
// restart then starts cold rather than going back in time); when it cannot be removed
// either (read-only or EPERM volume), the files do not move past it: they stay at the
// snapshot's revision, the failure is logged, and HTTP still serves the newest view.
// Work is serialised and coalesced: a burst of revisions while a write is running
// ends in one more write of the newest view, never a queue of stale ones.

import { fullJitterDelayMs, type BackoffPolicy } from './backoff.ts';
import type { Logger } from '../logger.ts';
import type { SyncMetrics } from './sync-metrics.ts';
import { SnapshotError, describeError, type RenderError } from '../errors.ts';
import type { AtomicWriter } from '../files/atomic-writer.ts';
import type { FileSpec } from '../files/file-spec.ts';
import { renderFiles } from '../files/render.ts';
import { rm } from 'node:fs/promises';
import { snapshotPath, writeSnapshot, type Sealing, type SnapshotIdentity, type SyncCursor } from '../snapshot/snapshot.ts';
import type { RetiredId, StoreView } from '../store/config-store.ts';

/** How the publisher touches the snapshot file; replaceable in tests to simulate a read-only volume. */
export type SnapshotIo = {
  readonly write: typeof writeSnapshot;
  readonly remove: (path: string) => Promise<void>;
};

const SNAPSHOT_IO: SnapshotIo = { write: writeSnapshot, remove: (path) => rm(path, { force: true }) };

export type PublisherOptions = {
  readonly writer: AtomicWriter;
  readonly specs: readonly FileSpec[];
  readonly snapshot:
    | { readonly cacheDir: string; readonly identity: SnapshotIdentity; readonly sealing?: Sealing; readonly io?: SnapshotIo }
    | undefined;
  readonly cursor: () => SyncCursor;
  /** The store's memory of ids that left a key, saved with the view (else a restart forgets it). */
  readonly retired?: () => readonly RetiredId[];
  readonly logger: Logger;
  readonly metrics: SyncMetrics;
  /** Called after files changed on disk (for change notification). */
  readonly onFilesWritten?: (view: StoreView) => void;
  /**
   * A failed publish is tried again after a jittered backoff until it succeeds or a newer
   * revision supersedes it (else files stay behind until the next change: ENOSPC freed).
   */
  readonly retry?: BackoffPolicy;
  /** Test hook: runs between the snapshot write and the file swap (where a crash would land). */
  readonly betweenSnapshotAndFiles?: (view: StoreView) => Promise<void>;
};

export type PublishState = {
  readonly publishedRevision: number;
  readonly lastError: string | undefined;
  readonly renderErrors: readonly string[];
};

export class OutputPublisher {
  readonly #options: PublisherOptions;
  /** The error each failing file last logged, so a persisting failure is logged once. */
  readonly #failing = new Map<string, string>();
  #pending: StoreView | undefined;
  #running: Promise<void> | undefined;
  #state: PublishState = { publishedRevision: -1, lastError: undefined, renderErrors: [] };
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(options: PublisherOptions) {
    this.#options = options;
  }

  get state(): PublishState {
    return this.#state;
  }

  /** Schedule `view` for writing; resolves when it (or a newer view) is on disk. */
  publish(view: StoreView): Promise<void> {
    clearTimeout(this.#retryTimer); // this view supersedes the one waiting to be retried
    this.#retryTimer = undefined;
    this.#pending = view;
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Cancels a scheduled retry (the agent is stopping). */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** Resolves once nothing is pending. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#pending !== undefined) {
      const view = this.#pending;
      this.#pending = undefined;
      await this.#writeOnce(view);
    }
  }

  async #writeOnce(view: StoreView): Promise<void> {
    const { writer, specs, logger, metrics } = this.#options;
    // A namespace never loaded has no file yet (an empty one would say "no configuration"), or keeps its previous one.
    const { payload, errors } = renderFiles(
      view,
      specs.filter((spec) => hasData(view, spec.namespace)),
    );
    const files = new Map(payload);
    for (const error of errors) await this.#keepPrevious(files, error.file);
    for (const spec of specs) if (!hasData(view, spec.namespace)) await this.#keepPrevious(files, spec.name);
    this.#trackRenderHealth(payload, errors);
    try {
      await this.#saveSnapshot(view);
      await this.#options.betweenSnapshotAndFiles?.(view);
      const result = await writer.write(files);
      metrics.outputWrites.inc({ result: result === 'written' ? 'ok' : 'unchanged' });
      if (result === 'written') {
        logger.info({ revision: view.revision, files: files.size, dir: writer.dir }, 'files updated');
        this.#options.onFilesWritten?.(view);
      }
      this.#state = { publishedRevision: view.revision, lastError: undefined, renderErrors: errors.map((e) => e.message) };
      this.#failures = 0;
    } catch (error) {
      metrics.outputWrites.inc({ result: 'error' });
      const retryInMs = this.#scheduleRetry(view);
      logger.error(
        { revision: view.revision, err: describeError(error), retryInMs },
        'publishing files failed (err says whether the previous files were kept)',
      );
      this.#state = { ...this.#state, lastError: describeError(error), renderErrors: errors.map((e) => e.message) };
    }
  }

  /** Publishes `view` again after a backoff unless something newer is queued first; the delay, if any. */
  #scheduleRetry(view: StoreView): number | undefined {
    const policy = this.#options.retry;
    if (policy === undefined || this.#pending !== undefined) return undefined;
    const delay = fullJitterDelayMs(policy, ++this.#failures);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.publish(view);
    }, delay);
    this.#retryTimer.unref();
    return delay;
  }

  /**
   * A file that cannot be rendered now keeps what was last published: read back from the
   * writer's current data directory, not held in memory (a copy of every file would cost
   * the pod their size again; issue 14). None yet (never written): the file stays absent.
   */
  async #keepPrevious(files: Map<string, { content: Uint8Array | string; mode: number }>, name: string): Promise<void> {
    const spec = this.#options.specs.find((s) => s.name === name);
    const previous = await this.#options.writer.read(name).catch(() => undefined);
    if (spec !== undefined && previous !== undefined) files.set(name, { content: previous, mode: spec.mode });
  }

  #trackRenderHealth(rendered: ReadonlyMap<string, unknown>, errors: readonly RenderError[]): void {
    const { logger, metrics } = this.#options;
    for (const error of errors) {
      metrics.renderFailing.set({ file: error.file }, 1);
      if (this.#failing.get(error.file) === error.message) continue;
      this.#failing.set(error.file, error.message);
      logger.warn({ file: error.file, err: error.message }, 'file not rendered; keeping its previous content');
    }
    for (const name of rendered.keys()) {
      if (!this.#failing.delete(name)) continue;
      metrics.renderFailing.set({ file: name }, 0);
      logger.info({ file: name }, 'file renders again');
    }
  }

  async #saveSnapshot(view: StoreView): Promise<void> {
    const { snapshot } = this.#options;
    if (snapshot === undefined) return;
    const io = snapshot.io ?? SNAPSHOT_IO;
    try {
      const saved = { ...view, retired: this.#options.retired?.() };
      await io.write(snapshot.cacheDir, snapshot.identity, saved, this.#options.cursor(), snapshot.sealing);
    } catch (error) {
      // Files still move on (the app needs them); an older snapshot must not outlive them.
      this.#options.logger.error({ revision: view.revision, err: describeError(error) }, 'snapshot not saved; removing the old one');
      try {
        await io.remove(snapshotPath(snapshot.cacheDir));
      } catch (rmError) {
        const code = (rmError as NodeJS.ErrnoException).code;
        if (code === 'ENOTDIR' || code === 'ENOENT') return; // the cache dir itself is gone: no snapshot either
        // A restart would bring the old snapshot back over newer files: the files wait for it instead.
        this.#options.logger.error(
          { revision: view.revision, err: describeError(rmError), snapshot: snapshotPath(snapshot.cacheDir) },
          'old snapshot could not be removed either; files stay at its revision until it can be saved or removed',
        );
        throw new SnapshotError(`cannot save nor remove ${snapshotPath(snapshot.cacheDir)}; previous files kept`, { cause: rmError });
      }
    }
  }
}

function hasData(view: StoreView, namespace: string): boolean {
  return view.loaded.has(namespace) || (view.namespaces.get(namespace)?.size ?? 0) > 0;
}
