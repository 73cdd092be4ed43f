// `llm-config agent`: the long-running sidecar. Starts warm from the snapshot init
// wrote, serves at once, then keeps the store, the files and the snapshot in sync.

import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { defineCommand } from '../src/command.ts';
import { createLogger, type Logger } from '../src/logger.ts';
import { createRegistry, createSyncMetrics } from '../src/metrics.ts';
import { createSyncContext, validateSyncOptions, type SyncContext } from '../src/sync-context.ts';
import { SyncEngine } from '../src/sync/engine.ts';
import { OutputPublisher } from '../src/sync/publisher.ts';
import { countEntries } from '../src/sync/store.ts';
import { readSnapshot, type Snapshot } from '../src/snapshot.ts';
import { describeError } from '../src/errors.ts';
import { agentOptionTable, type AgentOptions } from './agent-options.ts';

export const agentCommand = defineCommand({
  name: 'agent',
  summary: 'Run the sync sidecar: start from the snapshot, keep files and snapshot in sync by stream or poll.',
  usage: 'llm-config agent --central-url URL --namespaces NS[,NS…] [options]',
  options: agentOptionTable,
  validate: validateSyncOptions,
  async run(options, context) {
    const logger = createLogger({ level: options.logLevel, name: 'llm-config-agent' });
    const registry = createRegistry({ processMetrics: true });
    const metrics = createSyncMetrics(registry);
    const sync = await createSyncContext(options, logger);
    await mkdir(options.cacheDir, { recursive: true });
    const snapshot = await loadSnapshot(sync, options.cacheDir, logger);
    const engine = new SyncEngine({
      client: sync.client, store: sync.store, namespaces: sync.namespaces, mode: options.syncMode,
      pollIntervalMs: options.pollInterval, resyncIntervalMs: options.resyncInterval, heartbeatTimeoutMs: options.heartbeatTimeout,
      healthyAfterMs: 10_000, backoff: sync.backoff, maxEventBytes: options.maxResponseBytes, logger, metrics, cursor: snapshot?.cursor,
    });
    const publisher = new OutputPublisher({
      writer: sync.writer, specs: sync.specs, snapshot: { cacheDir: options.cacheDir, identity: sync.identity },
      cursor: () => engine.cursor(), logger, metrics,
    });
    await publisher.adoptExisting();
    sync.store.onRevision(({ view }) => {
      metrics.entries.set(countEntries(view));
      metrics.revision.set(view.revision);
      void publisher.publish(view);
    });
    if (snapshot) await publisher.publish(sync.store.view);
    engine.start(initialDelayMs(options, snapshot));
    logger.info({ namespaces: sync.namespaces, mode: options.syncMode, warm: snapshot !== undefined, revision: sync.store.view.revision }, 'agent started');

    await once(context.signal, 'abort');
    logger.info('SIGTERM: stopping sync and flushing files');
    await shutdown(engine, publisher, sync, options.shutdownTimeout, logger);
    return 0;
  },
});

async function loadSnapshot(sync: SyncContext, cacheDir: string, logger: Logger): Promise<Snapshot | undefined> {
  try {
    const snapshot = await readSnapshot(cacheDir, sync.identity);
    if (snapshot === undefined) {
      logger.info({ cacheDir }, 'no snapshot; starting cold');
      return undefined;
    }
    sync.store.restore(snapshot.namespaces, snapshot.revision, snapshot.changedAt);
    logger.info({ revision: snapshot.revision, entries: countEntries(sync.store.view), savedAt: new Date(snapshot.savedAt).toISOString() }, 'started warm from snapshot');
    return snapshot;
  } catch (error) {
    logger.warn({ err: describeError(error) }, 'snapshot ignored; starting cold');
    return undefined;
  }
}

/**
 * A pod that starts from a fresh snapshot has nothing urgent to fetch, so its first
 * poll lands at a random point of the interval: a rollout of many pods does not hit
 * the central API on one beat. A cold or stale start syncs at once.
 */
function initialDelayMs(options: AgentOptions, snapshot: Snapshot | undefined): number {
  if (options.syncMode !== 'poll' || snapshot === undefined) return 0;
  const age = Date.now() - (snapshot.cursor.lastSuccessAt ?? snapshot.savedAt);
  return age < options.pollInterval ? Math.floor(Math.random() * (options.pollInterval - age)) : 0;
}

async function shutdown(engine: SyncEngine, publisher: OutputPublisher, sync: SyncContext, timeoutMs: number, logger: Logger): Promise<void> {
  const work = (async () => {
    await engine.stop();
    await publisher.idle();
    await sync.close();
  })();
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, timeoutMs, 'timeout').unref());
  if ((await Promise.race([work, timeout])) === 'timeout') logger.warn({ timeoutMs }, 'shutdown timed out; exiting anyway');
  else logger.info('stopped');
}
