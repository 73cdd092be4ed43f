// Assembles a running agent from frozen options: sync engine, publisher, local API on
// TCP and the Unix socket, admin endpoints. `stop()` is the graceful SIGTERM path.

import { mkdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createLogger, type Logger } from '../src/logger.ts';
import { createHttpMetrics } from '../src/metrics/http-metrics.ts';
import { createRegistry } from '../src/metrics/registry.ts';
import { createSyncMetrics } from '../src/sync/sync-metrics.ts';
import { createSyncContext, type SyncContext } from '../src/sync/sync-context.ts';
import { createSyncRuntime } from '../src/sync/sync-runtime.ts';
import { ChangeLog } from '../src/sync/change-log.ts';
import { countEntries } from '../src/store/config-store.ts';
import { readSnapshot, type Snapshot } from '../src/snapshot/snapshot.ts';
import { WatchedFile } from '../src/credentials/watched-file.ts';
import { describeError, InvalidSettingError } from '../src/errors.ts';
import { ChangeNotifier } from '../src/notify/change-notifier.ts';
import { SecretPoller } from '../src/vault/secret-poller.ts';
import type { AgentOptions } from './agent-options.ts';
import { createLocalApi } from './local-api/local-api.ts';
import { Watchers } from './local-api/watchers.ts';
import { createAdminApi } from './admin-api.ts';
import { closeGracefully, listenSocket, listenTcp } from './listeners.ts';
import { isLoopbackAddress } from './local-api/loopback.ts';
import { agentStatus, readiness } from './agent-status.ts';

export type RunningAgent = { readonly addresses: Record<string, string>; stop(): Promise<void> };

export async function startAgent(options: AgentOptions, requestShutdown: () => void): Promise<RunningAgent> {
  const logger = createLogger({ level: options.logLevel, name: 'llm-config-agent' });
  const registry = createRegistry({ processMetrics: true });
  const metrics = createSyncMetrics(registry);
  const sync = await createSyncContext(options, logger);
  const cleanups: Array<() => Promise<unknown>> = [() => sync.close()];
  try {
    await mkdir(options.cacheDir, { recursive: true });
    const snapshot = await loadSnapshot(sync, options.cacheDir, logger);
    const notifier = new ChangeNotifier({
      debounceMs: options.notifyDebounce,
      reloadUrl: options.reloadUrl,
      reloadSignal: options.reloadSignal,
      reloadProcess: options.reloadProcess,
      backoff: sync.backoff,
      retryForMs: 120_000,
      logger,
    });
    cleanups.push(() => notifier.close());
    const { engine, publisher } = createSyncRuntime({
      client: sync.client,
      store: sync.store,
      namespaces: sync.namespaces,
      mode: options.syncMode,
      pollIntervalMs: options.pollInterval,
      resyncIntervalMs: options.resyncInterval,
      heartbeatTimeoutMs: options.heartbeatTimeout,
      healthyAfterMs: 10_000,
      backoff: sync.backoff,
      maxEventBytes: options.maxResponseBytes,
      logger,
      metrics,
      cursor: snapshot?.cursor,
      output: {
        follow: true,
        writer: sync.writer,
        specs: sync.specs,
        snapshot: { cacheDir: options.cacheDir, identity: sync.identity, sealing: sync.sealing },
        onFilesWritten: (view) => notifier.filesChanged(view.revision),
      },
    });
    const changeLog = new ChangeLog(sync.store);
    if (snapshot) await publisher.publish(sync.store.view);

    const localToken = options.localTokenFile === undefined ? undefined : new WatchedFile(options.localTokenFile, { logger });
    if (localToken) {
      cleanups.push(() => localToken.close());
      await localToken.start().catch((error: unknown) => {
        throw new InvalidSettingError(
          '--local-token-file',
          options.localTokenFile!,
          `a readable token file (${(error as NodeJS.ErrnoException).code})`,
        );
      });
    }
    const secrets =
      sync.vault &&
      new SecretPoller({
        source: sync.vault.source,
        refs: sync.vault.refs,
        store: sync.store,
        environment: options.environment,
        intervalMs: options.vaultPollInterval,
        backoff: sync.backoff,
        logger,
      });
    if (secrets) cleanups.unshift(() => secrets.stop());
    const watchers = new Watchers(sync.store, changeLog, { maxOpen: options.maxWatchers });
    const staleness = (): number => {
      const last = engine.lastSuccessAt;
      return last === undefined ? Number.POSITIVE_INFINITY : Date.now() - last;
    };
    const statusOf = () =>
      agentStatus({ options, sync, engine, publisher, staleness: staleness(), watchers: watchers.openCount, secrets: secrets?.status() });
    const localApi = createLocalApi({
      store: sync.store,
      watchers,
      environment: options.environment,
      centralUrl: options.centralUrl.href,
      status: statusOf,
      staleness,
      staleAfterMs: options.staleAfter,
      // auto: on when secrets are served, so an SSRF in the app cannot read them
      requireRequestHeader: options.requireRequestHeader === 'true' || (options.requireRequestHeader === 'auto' && secrets !== undefined),
      localToken,
      metrics: createHttpMetrics(registry),
      requestShutdown,
    });
    const servers: Server[] = [];
    const addresses: Record<string, string> = {};
    cleanups.push(() => closeGracefully(servers, 0));
    const http = await listenTcp(localApi, options.httpAddr, '--http-addr');
    servers.push(http.server);
    addresses.http = http.bound;
    if (!isLoopbackAddress(options.httpAddr.host))
      logger.warn(
        { http: http.bound },
        'the local API listens beyond loopback (--allow-non-loopback): configuration values can leave the pod',
      );
    if (options.socket !== 'off') {
      servers.push(await listenSocket(localApi, options.socket, options.readableBy === 'all' ? 0o666 : 0o660));
      addresses.socket = options.socket;
      cleanups.push(() => rm(options.socket, { force: true }));
    }
    const admin = await listenTcp(
      createAdminApi({
        registry,
        healthy: () =>
          engine.crashed ? { ok: false, reason: `sync loop stopped: ${engine.crashed}` } : { ok: true, reason: 'sync loop running' },
        ready: () => readiness(sync.store, secrets?.loaded ?? true, staleness(), options.maxStaleness),
      }),
      options.adminAddr,
      '--admin-addr',
    );
    addresses.admin = admin.bound;
    engine.start(initialDelayMs(options, snapshot));
    secrets?.start();
    logger.info(
      {
        ...addresses,
        namespaces: sync.namespaces,
        mode: options.syncMode,
        warm: snapshot !== undefined,
        revision: sync.store.view.revision,
      },
      'agent started',
    );

    return {
      addresses,
      async stop() {
        logger.info({ graceMs: options.shutdownTimeout }, 'stopping: no new connections, answering open watches');
        watchers.closeAll();
        await closeGracefully(servers, options.shutdownTimeout);
        await engine.stop();
        await publisher.idle();
        publisher.stop();
        await closeGracefully([admin.server], 0);
        await Promise.all(cleanups.map((c) => c()));
        logger.info('stopped');
      },
    };
  } catch (error) {
    await Promise.allSettled(cleanups.map((c) => c()));
    throw error;
  }
}

async function loadSnapshot(sync: SyncContext, cacheDir: string, logger: Logger): Promise<Snapshot | undefined> {
  try {
    const snapshot = await readSnapshot(cacheDir, sync.identity, sync.sealing.key);
    if (snapshot === undefined) {
      logger.info({ cacheDir }, 'no snapshot; starting cold');
      return undefined;
    }
    sync.store.restore(snapshot.namespaces, snapshot.revision, snapshot.changedAt, snapshot.loaded, snapshot.retired);
    if (snapshot.sealedUnreadable)
      logger.warn({ reason: snapshot.sealedUnreadable }, 'sealed secrets in the snapshot not restored; reading them from Vault');
    logger.info(
      { revision: snapshot.revision, entries: countEntries(sync.store.view), savedAt: new Date(snapshot.savedAt).toISOString() },
      'started warm from snapshot',
    );
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
