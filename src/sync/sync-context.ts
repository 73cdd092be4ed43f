// Builds what init and agent both need from their frozen options: the central API
// client (with token, TLS, headers), the store, the file specs and the writer.

import { InvalidSettingError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { OptionsOf } from '../options/define.ts';
import type { syncOptionTable } from '../options/sync-options.ts';
import { CentralClient } from '../central/client.ts';
import { readPem, readTlsSettings } from '../http/tls-settings.ts';
import { WatchedFile } from '../credentials/watched-file.ts';
import { ConfigStore } from '../store/config-store.ts';
import { AtomicWriter } from '../files/atomic-writer.ts';
import { checkFileModes, defaultFileSpecs, loadFileSpecs, type FileSpec } from '../files/file-spec.ts';
import type { Sealing, SnapshotIdentity } from '../snapshot/snapshot.ts';
import { readSealingKey } from '../snapshot/seal.ts';
import type { VaultSource, SecretRef } from '../vault/vault-source.ts';
import { VAULT_NAMESPACE } from '../vault/secret-poller.ts';
import type { BackoffPolicy } from './backoff.ts';

export type SyncOptions = OptionsOf<typeof syncOptionTable>;

export const USER_AGENT = 'llm-config-sidecar/0.1.0';

export type SyncContext = {
  readonly namespaces: readonly string[];
  readonly client: CentralClient;
  readonly token: WatchedFile | undefined;
  readonly store: ConfigStore;
  readonly writer: AtomicWriter;
  readonly specs: readonly FileSpec[];
  readonly identity: SnapshotIdentity;
  readonly backoff: BackoffPolicy;
  /** Vault secrets to serve, when any are configured. */
  readonly vault: { readonly source: VaultSource; readonly refs: readonly SecretRef[] } | undefined;
  readonly sealing: Sealing;
  close(): Promise<void>;
};

/** Rules that span several sync options; throws InvalidSettingError. */
export function validateSyncOptions(options: SyncOptions): void {
  if (options.namespaces === undefined) {
    throw new InvalidSettingError('--namespaces', '', 'required: a comma-separated list of namespaces to sync');
  }
  if ((options.clientCert === undefined) !== (options.clientKey === undefined)) {
    throw new InvalidSettingError(options.clientCert ? '--client-key' : '--client-cert', '', 'required together with the other for mTLS');
  }
  if (options.backoffBase > options.backoffMax) {
    throw new InvalidSettingError('--backoff-base', String(options.backoffBase), `at most --backoff-max (${options.backoffMax}ms)`);
  }
  if (options.files === undefined) defaultFileSpecs(options.namespaces, options.fileMode);
  if (options.vaultSecret.length > 0) {
    if (options.vaultAddr === undefined) throw new InvalidSettingError('--vault-addr', '', 'required with --vault-secret');
    if (options.vaultRole === undefined) throw new InvalidSettingError('--vault-role', '', 'required with --vault-secret');
    if (options.namespaces.includes(VAULT_NAMESPACE)) {
      throw new InvalidSettingError(
        '--namespaces',
        options.namespaces.join(','),
        `not "${VAULT_NAMESPACE}": that namespace is reserved for Vault secrets`,
      );
    }
    const names = options.vaultSecret.map((s) => s.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate) throw new InvalidSettingError('--vault-secret', duplicate, 'each secret name once');
  }
}

async function createVaultSource(options: SyncOptions, logger: Logger): Promise<{ source: VaultSource; jwt: WatchedFile } | undefined> {
  if (options.vaultSecret.length === 0) return undefined;
  // Loaded only when secrets are configured: node-vault and its axios chain cost ~23 MiB
  // of RSS in every pod (docs/sizing.md), and most pods have no secrets.
  const { VaultSource } = await import('../vault/vault-source.ts');
  const jwt = new WatchedFile(options.vaultJwtFile, { logger });
  await jwt.start().catch((error: unknown) => {
    throw new InvalidSettingError(
      '--vault-jwt-file',
      options.vaultJwtFile,
      `a readable service-account token (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      { cause: error },
    );
  });
  const source = new VaultSource({
    address: options.vaultAddr!,
    namespace: options.vaultNamespace,
    caPem: await readPem('--vault-ca-file', options.vaultCaFile),
    role: options.vaultRole!,
    authPath: options.vaultAuthPath,
    jwt,
    timeoutMs: options.vaultTimeout,
    logger,
  });
  return { source, jwt };
}

export async function createSyncContext(options: SyncOptions, logger: Logger): Promise<SyncContext> {
  const namespaces = options.namespaces ?? [];
  const closers: Array<() => Promise<unknown>> = [];
  const token = options.tokenFile === undefined ? undefined : new WatchedFile(options.tokenFile, { logger });
  if (token) {
    await token.start().catch((error: unknown) => {
      throw new InvalidSettingError(
        '--token-file',
        options.tokenFile!,
        `a readable token file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
        { cause: error },
      );
    });
  }
  const tls = await readTlsSettings(options);
  if (options.insecureSkipTlsVerify) logger.warn('TLS verification of the central API is disabled (--insecure-skip-tls-verify)');
  const client = new CentralClient({
    baseUrl: options.centralUrl,
    environment: options.environment,
    headers: options.centralHeader,
    token,
    tls,
    requestTimeoutMs: options.requestTimeout,
    maxBodyBytes: options.maxResponseBytes,
    userAgent: USER_AGENT,
  });
  const vault = await createVaultSource(options, logger);
  if (vault) closers.push(() => vault.jwt.close());
  const storeNamespaces = vault ? [...namespaces, VAULT_NAMESPACE] : namespaces;
  const sealing: Sealing = {
    namespaces: vault ? [VAULT_NAMESPACE] : [],
    key: options.snapshotKeyFile === undefined ? undefined : await readSealingKey(options.snapshotKeyFile),
  };
  return {
    namespaces,
    client,
    token,
    vault: vault && { source: vault.source, refs: options.vaultSecret },
    sealing,
    // Vault's namespace is loaded when its poller says so (readiness asks it separately).
    store: new ConfigStore(storeNamespaces, { environment: options.environment, selfManaged: vault ? [VAULT_NAMESPACE] : [] }),
    writer: new AtomicWriter(options.outputDir, { readableBy: options.readableBy, logger }),
    specs: checkFileModes(
      options.files === undefined
        ? defaultFileSpecs(namespaces, options.fileMode)
        : await loadFileSpecs(options.files, storeNamespaces, options.fileMode),
      options.readableBy,
      options.files === undefined ? '--file-mode' : '--files',
      logger,
    ),
    identity: { environment: options.environment, centralUrl: options.centralUrl.href },
    backoff: { baseMs: options.backoffBase, capMs: options.backoffMax },
    async close() {
      await Promise.all([client.close(), token?.close(), ...closers.map((c) => c())]);
    },
  };
}
