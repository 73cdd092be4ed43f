// Keeps Vault secrets in the store under the reserved namespace `vault`, so the local
// API and the files specification serve them like configuration. Polls (Vault has no
// push) with ±10 % jitter; a failed round backs off like the central API. Unreachable
// Vault keeps the last known good; a secret deleted in Vault is deleted here.

import { describeError, errorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Entry } from '../central/entry.ts';
import type { ConfigStore, Change } from '../store/config-store.ts';
import { retryWithBackoff, sleep, type BackoffPolicy } from '../sync/backoff.ts';
import type { SecretRef, VaultSource } from './vault-source.ts';

export const VAULT_NAMESPACE = 'vault';

export type SecretPollerStatus = {
  readonly role: string;
  /** Every secret read at least once (or restored from a sealed snapshot). */
  readonly loaded: boolean;
  readonly secrets: number;
  readonly lastSuccessAt: number | undefined;
  readonly lastError: string | undefined;
  readonly failing: readonly string[];
};

export class SecretPoller {
  readonly #source: VaultSource;
  readonly #refs: readonly SecretRef[];
  readonly #store: ConfigStore;
  readonly #environment: string;
  readonly #intervalMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  readonly #versions = new Map<string, number>();
  #loop: Promise<void> | undefined;
  #status: Omit<SecretPollerStatus, 'role' | 'secrets' | 'loaded'> = { lastSuccessAt: undefined, lastError: undefined, failing: [] };

  constructor(options: {
    source: VaultSource;
    refs: readonly SecretRef[];
    store: ConfigStore;
    environment: string;
    intervalMs: number;
    backoff: BackoffPolicy;
    logger: Logger;
  }) {
    this.#source = options.source;
    this.#refs = options.refs;
    this.#store = options.store;
    this.#environment = options.environment;
    this.#intervalMs = options.intervalMs;
    this.#backoff = options.backoff;
    this.#logger = options.logger;
    for (const [key, entry] of options.store.view.namespaces.get(VAULT_NAMESPACE) ?? []) this.#versions.set(key, entry.version);
  }

  status(): SecretPollerStatus {
    return {
      ...this.#status,
      role: this.#source.role,
      loaded: this.loaded,
      secrets: this.#store.view.namespaces.get(VAULT_NAMESPACE)?.size ?? 0,
    };
  }

  /** True once every secret was read at least once (or restored from an encrypted snapshot). */
  get loaded(): boolean {
    return this.#refs.every((ref) => this.#versions.has(ref.name)) || this.#status.lastSuccessAt !== undefined;
  }

  /** One round over every secret; changes applied as one revision. Throws when all failed. */
  async pollOnce(): Promise<void> {
    const changes: Change[] = [];
    const failing: string[] = [];
    let lastError: unknown;
    for (const ref of this.#refs) {
      try {
        const result = await this.#source.read(ref, this.#versions.get(ref.name));
        if (result === 'unchanged') continue;
        if (result.kind === 'absent') {
          if (this.#versions.delete(ref.name))
            this.#logger.warn({ secret: ref.name, path: `${ref.mount}/${ref.path}` }, 'secret no longer in Vault; removed locally');
          changes.push({ type: 'delete', namespace: VAULT_NAMESPACE, key: ref.name });
          continue;
        }
        this.#versions.set(ref.name, result.version);
        changes.push({ type: 'put', entry: this.#entry(ref, result.version, result.data) });
      } catch (error) {
        failing.push(ref.name);
        lastError = error;
        this.#logger.warn(
          { secret: ref.name, code: errorCode(error), err: describeError(error) },
          'secret not read; keeping the last known value',
        );
      }
    }
    const applied = this.#store.apply(changes);
    if (applied.length > 0) this.#logger.info({ changed: applied.length }, 'secrets updated from Vault');
    this.#status = {
      lastSuccessAt: failing.length === 0 ? Date.now() : this.#status.lastSuccessAt,
      lastError: lastError === undefined ? undefined : describeError(lastError),
      failing,
    };
    if (failing.length === this.#refs.length && lastError !== undefined) throw lastError;
  }

  start(): void {
    this.#loop ??= (async () => {
      const signal = this.#abort.signal;
      while (!signal.aborted) {
        await retryWithBackoff(() => this.pollOnce(), {
          policy: this.#backoff,
          signal,
          onRetry: (error, attempt, delayMs) =>
            this.#logger.warn({ attempt, delayMs, err: describeError(error) }, 'Vault unavailable; backing off'),
        });
        await sleep(Math.round(this.#intervalMs * (0.9 + 0.2 * Math.random())), signal);
      }
    })().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#abort.abort(new Error('stopped'));
    this.#source.close();
    await this.#loop;
  }

  #entry(ref: SecretRef, version: number, data: Record<string, unknown>): Entry {
    return Object.freeze({
      id: `vault:${ref.mount}/${ref.path}`,
      namespace: VAULT_NAMESPACE,
      key: ref.name,
      value: data,
      environment: this.#environment,
      version,
      metadata: { source: 'vault', path: `${ref.mount}/data/${ref.path}` },
    });
  }
}
