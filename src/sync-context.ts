// Builds what init and agent both need from their frozen options: the central API
// client (with token, TLS, headers), the store, the file specs and the writer.

import { readFile } from 'node:fs/promises';
import { InvalidSettingError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { OptionsOf } from './options/define.ts';
import type { syncOptionTable } from './options/sync-options.ts';
import { CentralClient } from './central/client.ts';
import { WatchedFile } from './watched-file.ts';
import { ConfigStore } from './sync/store.ts';
import { AtomicWriter } from './files/atomic-writer.ts';
import { defaultFileSpecs, loadFileSpecs, type FileSpec } from './files/file-spec.ts';
import type { SnapshotIdentity } from './snapshot.ts';
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
}

async function readPem(setting: string, path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidSettingError(setting, path, `a readable PEM file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: error });
  }
}

export async function createSyncContext(options: SyncOptions, logger: Logger): Promise<SyncContext> {
  const namespaces = options.namespaces ?? [];
  const token = options.tokenFile === undefined ? undefined : new WatchedFile(options.tokenFile, { logger });
  if (token) {
    await token.start().catch((error: unknown) => {
      throw new InvalidSettingError('--token-file', options.tokenFile!, `a readable token file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: error });
    });
  }
  const [ca, cert, key] = await Promise.all([
    readPem('--ca-file', options.caFile), readPem('--client-cert', options.clientCert), readPem('--client-key', options.clientKey),
  ]);
  const tls = { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), rejectUnauthorized: !options.insecureSkipTlsVerify };
  if (options.insecureSkipTlsVerify) logger.warn('TLS verification of the central API is disabled (--insecure-skip-tls-verify)');
  const client = new CentralClient({
    baseUrl: options.centralUrl, environment: options.environment, headers: options.centralHeader, token, tls,
    requestTimeoutMs: options.requestTimeout, maxBodyBytes: options.maxResponseBytes, userAgent: USER_AGENT,
  });
  return {
    namespaces,
    client,
    token,
    store: new ConfigStore(namespaces),
    writer: new AtomicWriter(options.outputDir),
    specs: options.files === undefined ? defaultFileSpecs(namespaces, options.fileMode) : await loadFileSpecs(options.files, namespaces, options.fileMode),
    identity: { environment: options.environment, centralUrl: options.centralUrl.href },
    backoff: { baseMs: options.backoffBase, capMs: options.backoffMax },
    async close() {
      await Promise.all([client.close(), token?.close()]);
    },
  };
}
