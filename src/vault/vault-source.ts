// Secrets from HashiCorp Vault (node-vault): Kubernetes auth with the pod's service-
// account token, token renewal before expiry (renew-self at 2/3 of the lease) and
// re-login on 403 or expiry, KV v2 reads with change detection from the metadata
// version. Vault has no push, so secrets are polled (default 5 min, like Vault Agent's
// static-secret re-render). Values never reach a log line or an error message.

import NodeVault from 'node-vault';
import { MAX_VALUE_DEPTH, nestedDeeperThan } from '../central/entry.ts';
import { EntryRefusedError, VaultError, VaultPermissionError, describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { WatchedFile } from '../credentials/watched-file.ts';

export type SecretRef = { readonly name: string; readonly mount: string; readonly path: string };
export type SecretRead =
  | { readonly kind: 'secret'; readonly version: number; readonly data: Record<string, unknown> }
  | { readonly kind: 'absent' };

export type VaultSourceOptions = {
  readonly address: URL;
  readonly namespace: string | undefined;
  readonly caPem: string | undefined;
  readonly role: string;
  readonly authPath: string;
  readonly jwt: WatchedFile;
  readonly timeoutMs: number;
  readonly logger: Logger;
};

type Lease = { readonly renewAt: number; readonly expiresAt: number; readonly renewable: boolean };

function statusOf(error: unknown): number | undefined {
  return (error as { response?: { statusCode?: number } }).response?.statusCode;
}

export class VaultSource {
  readonly #o: VaultSourceOptions;
  readonly #client: ReturnType<typeof NodeVault>;
  #lease: Lease | undefined;
  #renewTimer: NodeJS.Timeout | undefined;

  constructor(options: VaultSourceOptions) {
    this.#o = options;
    this.#client = NodeVault({
      apiVersion: 'v1',
      endpoint: options.address.href.replace(/\/$/, ''),
      ...(options.namespace && { namespace: options.namespace }),
      requestOptions: { timeout: options.timeoutMs, ...(options.caPem && { ca: options.caPem }) },
    });
  }

  get role(): string {
    return this.#o.role;
  }

  /** Stops the background renewal. */
  close(): void {
    clearTimeout(this.#renewTimer);
  }

  /** Reads one KV v2 secret: metadata first (cheap), data only when the version moved. */
  async read(ref: SecretRef, knownVersion: number | undefined): Promise<SecretRead | 'unchanged'> {
    const metadata = await this.#call(`${ref.mount}/metadata/${ref.path}`, ref);
    if (metadata === undefined) return { kind: 'absent' };
    const meta = (
      metadata as { data?: { current_version?: number; versions?: Record<string, { deletion_time?: string; destroyed?: boolean }> } }
    ).data;
    const version = meta?.current_version;
    if (typeof version !== 'number')
      throw new VaultError(`${ref.mount}/metadata/${ref.path}: no current_version (is ${ref.mount} a KV v2 mount?)`);
    const current = meta?.versions?.[String(version)];
    if (current?.destroyed || (current?.deletion_time !== undefined && current.deletion_time !== '')) return { kind: 'absent' };
    if (version === knownVersion) return 'unchanged';
    const secret = await this.#call(`${ref.mount}/data/${ref.path}`, ref);
    const data = (secret as { data?: { data?: Record<string, unknown> | null } } | undefined)?.data?.data;
    if (secret === undefined || data === null || data === undefined) return { kind: 'absent' };
    // The same per-entry limit as central entries (SPEC §4): everything after this point
    // (fingerprints, rendering, answers, the snapshot) recurses and would overflow the stack.
    if (nestedDeeperThan(data, MAX_VALUE_DEPTH)) {
      throw new EntryRefusedError('Vault', {
        namespace: 'vault',
        key: ref.name,
        kind: 'too-deep',
        reason: `secret "${ref.name}" (${ref.mount}/${ref.path}) nests deeper than ${MAX_VALUE_DEPTH} levels, the limit for one value; it is not served`,
      });
    }
    return { kind: 'secret', version, data };
  }

  /** A Vault read with login, renewal and one re-login on 403; 404 is `undefined`. */
  async #call(path: string, ref: SecretRef): Promise<unknown> {
    await this.#ensureToken();
    try {
      return await this.#client.read(path);
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return undefined;
      if (status === 403) {
        // The token may have expired or been revoked: log in again once before calling it a policy problem.
        this.#lease = undefined;
        await this.#ensureToken();
        try {
          return await this.#client.read(path);
        } catch (again) {
          if (statusOf(again) === 404) return undefined;
          if (statusOf(again) === 403) {
            throw new VaultPermissionError(
              `permission denied reading ${path} (secret "${ref.name}") with Vault role "${this.#o.role}": check the role's policy`,
              403,
            );
          }
          throw this.#wrap(again, path);
        }
      }
      throw this.#wrap(error, path);
    }
  }

  async #ensureToken(): Promise<void> {
    const now = Date.now();
    if (this.#lease && now < this.#lease.renewAt) return;
    if (this.#lease?.renewable && now < this.#lease.expiresAt) {
      try {
        const renewed = (await this.#client.tokenRenewSelf()) as { auth?: { lease_duration?: number; renewable?: boolean } };
        this.#setLease(renewed.auth?.lease_duration ?? 0, renewed.auth?.renewable ?? false);
        this.#o.logger.debug({ ttlSeconds: renewed.auth?.lease_duration }, 'Vault token renewed');
        return;
      } catch (error) {
        this.#o.logger.warn(
          { err: describeError(this.#wrap(error, 'auth/token/renew-self')) },
          'Vault token renewal failed; logging in again',
        );
      }
    }
    await this.#login();
  }

  async #login(): Promise<void> {
    const jwt = await this.#o.jwt.read();
    try {
      const result = (await this.#client.kubernetesLogin({ role: this.#o.role, jwt, mount_point: this.#o.authPath })) as {
        auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
      };
      if (!result.auth?.client_token) throw new VaultError('Kubernetes login answered without a client token');
      this.#client.token = result.auth.client_token;
      this.#setLease(result.auth.lease_duration ?? 0, result.auth.renewable ?? false);
      this.#o.logger.info({ role: this.#o.role, ttlSeconds: result.auth.lease_duration }, 'logged in to Vault');
    } catch (error) {
      if (error instanceof VaultError) throw error;
      const status = statusOf(error);
      if (status === 403 || status === 400) {
        throw new VaultPermissionError(
          `Vault Kubernetes login refused for role "${this.#o.role}" at auth/${this.#o.authPath} (${status}): check the role's bound service account and audience`,
          status,
        );
      }
      throw this.#wrap(error, `auth/${this.#o.authPath}/login`);
    }
  }

  #setLease(ttlSeconds: number, renewable: boolean): void {
    const now = Date.now();
    const ttl = Math.max(ttlSeconds, 1) * 1000;
    this.#lease = { renewAt: now + (ttl * 2) / 3, expiresAt: now + ttl, renewable };
    // Renew in the background at 2/3 of the lease, whatever the poll interval: a poll
    // must never find the token expired (Vault Agent's lifetime watcher does the same).
    clearTimeout(this.#renewTimer);
    this.#renewTimer = setTimeout(
      () => {
        this.#ensureToken().catch((error: unknown) =>
          this.#o.logger.warn({ err: describeError(error) }, 'Vault token refresh failed; the next read retries'),
        );
      },
      this.#lease.renewAt - now + 1,
    );
    this.#renewTimer.unref();
  }

  /** Vault errors with the status and Vault's own error strings, never a request or response body with data. */
  #wrap(error: unknown, path: string): VaultError {
    const status = statusOf(error);
    const errors = (error as { response?: { body?: { errors?: unknown } } }).response?.body?.errors;
    const detail = Array.isArray(errors)
      ? errors
          .filter((e) => typeof e === 'string')
          .join('; ')
          .slice(0, 200)
      : '';
    if (status === undefined)
      return new VaultError(`cannot reach Vault at ${this.#o.address.origin} (${path}): ${(error as Error).message}`, undefined, {
        cause: error,
      });
    return new VaultError(`Vault answered ${status} for ${path}${detail ? `: ${detail}` : ''}`, status);
  }
}
