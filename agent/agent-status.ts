// What /v1/status and /readyz report. Never a configuration value.

import { formatDurationMs } from '../src/durations.ts';
import type { SyncContext } from '../src/sync/sync-context.ts';
import type { SyncEngine } from '../src/sync/engine.ts';
import type { OutputPublisher } from '../src/sync/publisher.ts';
import { countEntries, type ConfigStore } from '../src/store/config-store.ts';
import type { AgentOptions } from './agent-options.ts';
import type { SecretPollerStatus } from '../src/vault/secret-poller.ts';

/**
 * The one readiness rule, for /readyz and /v1/status alike: every namespace loaded
 * (by a snapshot or a successful answer for it; a failed sync loads nothing), secrets
 * read, and not staler than --max-staleness.
 */
export function readiness(
  store: Pick<ConfigStore, 'isLoaded' | 'view'>,
  secretsLoaded: boolean,
  stalenessMs: number,
  maxStalenessMs: number,
): { ok: boolean; reason: string } {
  const missing = [...store.view.namespaces.keys()].filter((ns) => !store.isLoaded(ns));
  if (missing.length > 0) {
    return { ok: false, reason: `not loaded yet (no snapshot, no successful answer): ${missing.join(', ')}` };
  }
  if (!secretsLoaded) return { ok: false, reason: 'secrets not read from Vault yet' };
  if (stalenessMs > maxStalenessMs) {
    return {
      ok: false,
      reason: `last successful sync ${formatDurationMs(Math.round(stalenessMs))} ago, over --max-staleness ${formatDurationMs(maxStalenessMs)}`,
    };
  }
  return { ok: true, reason: 'configuration loaded' };
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function agentStatus(input: {
  options: AgentOptions;
  sync: SyncContext;
  engine: SyncEngine;
  publisher: OutputPublisher;
  staleness: number;
  watchers: number;
  secrets: SecretPollerStatus | undefined;
}): Record<string, unknown> {
  const { options, sync, engine, publisher, staleness } = input;
  const status = engine.status();
  const view = sync.store.view;
  return {
    environment: options.environment,
    namespaces: sync.namespaces,
    ready: readiness(sync.store, input.secrets?.loaded ?? true, staleness, options.maxStaleness).ok,
    loaded: sync.namespaces.filter((ns) => sync.store.isLoaded(ns)),
    revision: view.revision,
    entries: countEntries(view),
    mode: status.configuredMode,
    activeMode: status.activeMode,
    connected: status.connected,
    streamSupported: status.streamSupported ?? null,
    lastSuccess: iso(status.lastSuccessAt),
    lastAttempt: iso(status.lastAttemptAt),
    stalenessSeconds: Number.isFinite(staleness) ? Math.round(staleness / 100) / 10 : null,
    stale: staleness > options.staleAfter,
    lastError: status.lastError ?? null,
    namespaceErrors: status.namespaceErrors,
    // After a 429 the poll interval stretches (×2) and relaxes slowly: what is in force now.
    pacing: {
      effectiveIntervalSeconds: status.pacing.effectiveIntervalMs / 1000,
      factor: Math.round(status.pacing.factor * 100) / 100,
      lastRateLimited: iso(status.pacing.lastRateLimitedAt),
    },
    files: {
      dir: options.outputDir,
      publishedRevision: publisher.state.publishedRevision,
      lastError: publisher.state.lastError ?? null,
      renderErrors: publisher.state.renderErrors,
    },
    watchers: input.watchers,
    // Names and counts only: never a secret value.
    ...(input.secrets && {
      vault: {
        role: input.secrets.role,
        secrets: input.secrets.secrets,
        lastSuccess: iso(input.secrets.lastSuccessAt),
        lastError: input.secrets.lastError ?? null,
        failing: input.secrets.failing,
      },
    }),
  };
}
