// The one factory for a running sync: engine and publisher wired to a store, with the
// refusal report (metric + one log line per distinct refusal) and the store metrics.
// `init`, the agent and the relay build their sync through it, so the three cannot
// drift apart. A relay builds one per (namespaces, environment) pair, each with its
// own store; nothing here is process-global.

import type { Logger } from '../logger.ts';
import type { SyncMetrics } from './sync-metrics.ts';
import type { Refusal } from '../central/entry.ts';
import { countEntries, type ConfigStore, type StoreView } from '../store/config-store.ts';
import { SyncEngine, type SyncEngineOptions } from './engine.ts';
import { OutputPublisher, type PublisherOptions } from './publisher.ts';

export type OutputOptions = Omit<PublisherOptions, 'cursor' | 'logger' | 'metrics'> & {
  /** Publish every new revision as it comes (agent); false: the caller publishes (init). */
  readonly follow: boolean;
};

export type SyncRuntimeOptions = Omit<SyncEngineOptions, 'store'> & {
  readonly store: ConfigStore;
  /** Files and snapshot; omit for a sync that only serves from memory (a relay). */
  readonly output?: OutputOptions;
};

export type SyncRuntime = {
  readonly engine: SyncEngine;
  readonly publisher: OutputPublisher | undefined;
  /** Unsubscribes from the store (the engine is stopped by its owner). */
  detach(): void;
};

/** Distinct refusals logged so far are remembered up to this many; beyond, they are counted only. */
const REFUSALS_REMEMBERED = 1000;

export function createSyncRuntime(options: SyncRuntimeOptions & { output: OutputOptions }): SyncRuntime & { publisher: OutputPublisher };
export function createSyncRuntime(options: SyncRuntimeOptions): SyncRuntime;
export function createSyncRuntime(options: SyncRuntimeOptions): SyncRuntime {
  const { store, logger, metrics, output } = options;
  const engine = new SyncEngine({
    ...options,
    // The snapshot's cursor follows a dropped event id at once (same view, files unchanged).
    onCursorDropped: () => {
      options.onCursorDropped?.();
      if (output?.follow) void publisher?.publish(store.view);
    },
  });
  const publisher =
    output &&
    new OutputPublisher({
      writer: output.writer,
      specs: output.specs,
      snapshot: output.snapshot,
      onFilesWritten: output.onFilesWritten,
      betweenSnapshotAndFiles: output.betweenSnapshotAndFiles,
      retry: options.backoff,
      cursor: () => engine.cursor(),
      retired: () => store.retiredIds(),
      logger,
      metrics,
    });
  const unsubscribes = [
    store.onRefused(refusalReporter(logger, metrics)),
    store.onRevision(({ view }) => {
      recordView(metrics, view);
      if (output?.follow) void publisher?.publish(view);
    }),
  ];
  recordView(metrics, store.view);
  return {
    engine,
    publisher,
    detach: () => {
      for (const unsubscribe of unsubscribes) unsubscribe();
    },
  };
}

function recordView(metrics: SyncMetrics, view: StoreView): void {
  metrics.entries.set(countEntries(view));
  metrics.revision.set(view.revision);
}

/** Counts every refusal; logs each distinct one once (a foreign entry in every poll is one line, not one per poll). */
export function refusalReporter(logger: Logger, metrics: SyncMetrics): (refusal: Refusal) => void {
  const logged = new Set<string>();
  return (refusal) => {
    metrics.refusedEntries.inc({ kind: refusal.kind });
    const id = `${refusal.kind}\u0000${refusal.namespace}\u0000${refusal.key}`;
    if (logged.has(id) || logged.size >= REFUSALS_REMEMBERED) return;
    logged.add(id);
    logger.warn({ kind: refusal.kind, namespace: refusal.namespace, key: refusal.key, reason: refusal.reason }, 'entry refused');
  };
}
