// `llm-config init`: the one-shot init container. Fetches every namespace (retrying
// with backoff until --init-timeout), renders the files, writes the snapshot the
// agent starts from, and exits 0 — or exits non-zero with one line saying what failed.

import { mkdir } from 'node:fs/promises';
import { defineCommand } from '../src/command.ts';
import { flag, option } from '../src/options/define.ts';
import * as p from '../src/options/parsers.ts';
import { syncOptionTable } from '../src/options/sync-options.ts';
import { createSyncContext, validateSyncOptions, type SyncContext } from '../src/sync/sync-context.ts';
import { createLogger, type Logger } from '../src/logger.ts';
import { createRegistry } from '../src/metrics/registry.ts';
import { createSyncMetrics } from '../src/sync/sync-metrics.ts';
import type { SyncEngine } from '../src/sync/engine.ts';
import { createSyncRuntime } from '../src/sync/sync-runtime.ts';
import { readSnapshot } from '../src/snapshot/snapshot.ts';
import { retryWithBackoff } from '../src/sync/backoff.ts';
import { describeError, InitFailedError } from '../src/errors.ts';
import type { PollOutcome } from '../src/sync/poll-cycle.ts';
import { SecretPoller } from '../src/vault/secret-poller.ts';

const initOptionTable = {
  ...syncOptionTable,
  initTimeout: option(
    p.duration({ min: 1000 }),
    '2m',
    'Give up (exit non-zero) when the central API has not answered for every namespace by then.',
  ),
  allowStale: flag(
    p.boolean,
    'false',
    'When the central API is down, start from an existing snapshot instead of failing (restarting pods).',
  ),
};

export const initCommand = defineCommand({
  name: 'init',
  summary: 'Fetch every configured namespace, write the files and the snapshot for the agent, exit.',
  usage: 'llm-config init --central-url URL --namespaces NS[,NS…] [options]',
  options: initOptionTable,
  validate: validateSyncOptions,
  async run(options, context) {
    const startedAt = Date.now();
    const logger = createLogger({ level: options.logLevel, name: 'llm-config-init' });
    const metrics = createSyncMetrics(createRegistry({ processMetrics: false }));
    const sync = await createSyncContext(options, logger);
    try {
      await mkdir(options.cacheDir, { recursive: true });
      const { engine, publisher } = createSyncRuntime({
        client: sync.client,
        store: sync.store,
        namespaces: sync.namespaces,
        mode: 'poll',
        pollIntervalMs: options.pollInterval,
        resyncIntervalMs: options.resyncInterval,
        heartbeatTimeoutMs: options.heartbeatTimeout,
        healthyAfterMs: 0,
        backoff: sync.backoff,
        maxEventBytes: options.maxResponseBytes,
        logger,
        metrics,
        output: {
          follow: false,
          writer: sync.writer,
          specs: sync.specs,
          snapshot: { cacheDir: options.cacheDir, identity: sync.identity, sealing: sync.sealing },
        },
      });
      const deadline = Date.now() + options.initTimeout;
      await rememberRetiredIds(sync, options.cacheDir, logger);
      const fetched = await fetchAll(engine, sync, options.initTimeout, context.signal, logger);
      if (!fetched.ok) await fallBackToSnapshot(sync, options.cacheDir, options.allowStale, fetched, logger);
      if (sync.vault) await fetchSecrets(sync, options.environment, Math.max(1000, deadline - Date.now()), context.signal, logger);
      await publisher.publish(sync.store.view);
      const { lastError, renderErrors } = publisher.state;
      if (lastError !== undefined) throw new InitFailedError(`writing files failed: ${lastError}`);
      if (renderErrors.length > 0) throw new InitFailedError(`files not rendered: ${renderErrors.join('; ')}`);
      logger.info(
        { namespaces: sync.namespaces.length, files: sync.specs.length, ms: Date.now() - startedAt, stale: !fetched.ok },
        'init complete',
      );
      return 0;
    } finally {
      await sync.close();
    }
  },
});

async function fetchSecrets(sync: SyncContext, environment: string, timeoutMs: number, signal: AbortSignal, logger: Logger): Promise<void> {
  const poller = new SecretPoller({
    source: sync.vault!.source,
    refs: sync.vault!.refs,
    store: sync.store,
    environment,
    intervalMs: 0,
    backoff: sync.backoff,
    logger,
  });
  try {
    await retryWithBackoff(
      async () => {
        await poller.pollOnce();
        const { failing, lastError } = poller.status();
        if (failing.length > 0) throw new InitFailedError(`secrets ${failing.join(', ')} not read from Vault: ${lastError}`);
      },
      { policy: sync.backoff, signal, maxRetryTimeMs: timeoutMs },
    );
  } catch (error) {
    throw error instanceof InitFailedError ? error : new InitFailedError(`secrets not read from Vault: ${describeError(error)}`);
  } finally {
    sync.vault!.source.close();
  }
}

type FetchResult = { ok: true } | { ok: false; reason: string; failed: readonly string[] };

async function fetchAll(
  engine: SyncEngine,
  sync: SyncContext,
  timeoutMs: number,
  signal: AbortSignal,
  logger: Logger,
): Promise<FetchResult> {
  let last: PollOutcome | undefined;
  try {
    await retryWithBackoff(
      async () => {
        last = await engine.syncOnce(signal);
        const [namespace, error] = last.failed.entries().next().value ?? [];
        if (namespace !== undefined) throw error;
      },
      {
        policy: sync.backoff,
        signal,
        maxRetryTimeMs: timeoutMs,
        onRetry: (error, attempt, delayMs) => logger.warn({ attempt, delayMs, err: describeError(error) }, 'fetch failed; retrying'),
      },
    );
    return { ok: true };
  } catch (error) {
    if (signal.aborted) throw new InitFailedError('interrupted before the configuration was fetched');
    const failed = last ? [...last.failed.keys()] : sync.namespaces;
    return { ok: false, failed, reason: `could not fetch ${failed.join(', ')} within ${timeoutMs / 1000}s: ${describeError(error)}` };
  }
}

/**
 * A snapshot left by an earlier run (a restarted pod) remembers ids that were replaced:
 * a lagging replica answering init must not bring them back. Its data is not used here
 * (a fresh answer is newer); an unreadable snapshot just leaves the memory empty.
 */
async function rememberRetiredIds(sync: SyncContext, cacheDir: string, logger: Logger): Promise<void> {
  const snapshot = await readSnapshot(cacheDir, sync.identity).catch((error: unknown) => {
    logger.debug({ err: describeError(error) }, 'snapshot unreadable; no memory of replaced ids');
    return undefined;
  });
  if (snapshot !== undefined) sync.store.rememberRetired(snapshot.retired);
}

async function fallBackToSnapshot(
  sync: SyncContext,
  cacheDir: string,
  allowStale: boolean,
  { reason, failed }: { reason: string; failed: readonly string[] },
  logger: Logger,
): Promise<void> {
  if (!allowStale) throw new InitFailedError(reason);
  const snapshot = await readSnapshot(cacheDir, sync.identity).catch((error: unknown) => {
    throw new InitFailedError(`${reason}; and the snapshot is unusable: ${describeError(error)}`);
  });
  if (snapshot === undefined) throw new InitFailedError(`${reason}; and there is no snapshot in ${cacheDir} to start from (--allow-stale)`);
  // Namespaces fetched just now are newer than the snapshot: keep them, take the rest from it.
  const fromSnapshot = new Map([...snapshot.namespaces].filter(([ns]) => failed.includes(ns)));
  sync.store.restore(
    fromSnapshot,
    Math.max(snapshot.revision, sync.store.view.revision),
    snapshot.changedAt,
    snapshot.loaded,
    snapshot.retired,
  );
  logger.warn(
    { reason, snapshotSavedAt: new Date(snapshot.savedAt).toISOString() },
    'central API unavailable; starting from the snapshot (--allow-stale)',
  );
}
