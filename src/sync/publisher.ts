// Moves files and snapshot together with the store: every new revision is rendered
// into one new data directory, swapped in atomically, then the snapshot is saved.
// Work is serialised and coalesced: a burst of revisions while a write is running
// ends in one more write of the newest view, never a queue of stale ones.

import type { Logger } from '../logger.ts';
import type { SyncMetrics } from '../metrics.ts';
import { describeError, type RenderError } from '../errors.ts';
import type { AtomicWriter } from '../files/atomic-writer.ts';
import type { FileSpec } from '../files/file-spec.ts';
import { renderFiles } from '../files/render.ts';
import { writeSnapshot, type Sealing, type SnapshotIdentity, type SyncCursor } from '../snapshot.ts';
import type { StoreView } from './store.ts';

export type PublisherOptions = {
  readonly writer: AtomicWriter;
  readonly specs: readonly FileSpec[];
  readonly snapshot: { readonly cacheDir: string; readonly identity: SnapshotIdentity; readonly sealing?: Sealing } | undefined;
  readonly cursor: () => SyncCursor;
  readonly logger: Logger;
  readonly metrics: SyncMetrics;
  /** Called after files changed on disk (for change notification). */
  readonly onFilesWritten?: (view: StoreView) => void;
};

export type PublishState = {
  readonly publishedRevision: number;
  readonly lastError: string | undefined;
  readonly renderErrors: readonly string[];
};

export class OutputPublisher {
  readonly #options: PublisherOptions;
  readonly #lastGood = new Map<string, { content: Uint8Array | string; mode: number }>();
  /** The error each failing file last logged, so a persisting failure is logged once. */
  readonly #failing = new Map<string, string>();
  #pending: StoreView | undefined;
  #running: Promise<void> | undefined;
  #state: PublishState = { publishedRevision: -1, lastError: undefined, renderErrors: [] };

  constructor(options: PublisherOptions) {
    this.#options = options;
  }

  get state(): PublishState {
    return this.#state;
  }

  /** Schedule `view` for writing; resolves when it (or a newer view) is on disk. */
  publish(view: StoreView): Promise<void> {
    this.#pending = view;
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
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
    const { payload, errors } = renderFiles(view, specs);
    const files = new Map(payload);
    for (const error of errors) this.#keepPrevious(files, error);
    this.#trackRenderHealth(payload, errors);
    try {
      const result = await writer.write(files);
      for (const [name, file] of payload) this.#lastGood.set(name, file);
      metrics.outputWrites.inc({ result: result === 'written' ? 'ok' : 'unchanged' });
      if (result === 'written') {
        logger.info({ revision: view.revision, files: files.size, dir: writer.dir }, 'files updated');
        this.#options.onFilesWritten?.(view);
      }
      await this.#saveSnapshot(view);
      this.#state = { publishedRevision: view.revision, lastError: undefined, renderErrors: errors.map((e) => e.message) };
    } catch (error) {
      metrics.outputWrites.inc({ result: 'error' });
      logger.error({ revision: view.revision, err: describeError(error) }, 'publishing files failed; previous files kept');
      this.#state = { ...this.#state, lastError: describeError(error), renderErrors: errors.map((e) => e.message) };
    }
  }

  #keepPrevious(files: Map<string, { content: Uint8Array | string; mode: number }>, error: RenderError): void {
    const previous = this.#lastGood.get(error.file);
    if (previous !== undefined) files.set(error.file, previous);
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
    await writeSnapshot(snapshot.cacheDir, snapshot.identity, view, this.#options.cursor(), snapshot.sealing);
  }

  /** Seed last-good contents from what is on disk (after a restart), so a failing render keeps them. */
  async adoptExisting(): Promise<void> {
    for (const spec of this.#options.specs) {
      const content = await this.#options.writer.read(spec.name).catch(() => undefined);
      if (content !== undefined) this.#lastGood.set(spec.name, { content, mode: spec.mode });
    }
  }
}
