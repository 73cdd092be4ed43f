// Authentication and authorization of agent requests. --auth kubernetes: a bearer
// token, reviewed (token-auth.ts), then the pod's Kubernetes namespace must allow every
// central namespace asked for, by its allowed-namespaces annotation (read from an
// informer, so an edit takes effect without a restart) or else --default-allowed.
// --auth none: everyone may read everything (trusted networks, local work).

import type { IncomingMessage } from 'node:http';
import { describeError, TokenReviewUnavailableError } from '../src/errors.ts';

const TOKEN_REVIEW_CODE = 'LLMC_ERR_TOKEN_REVIEW_UNAVAILABLE';
import type { Logger } from '../src/logger.ts';
import { allowedNamespacesFor, firstDisallowed, type AllowedNamespaces, type NamespaceGlobs } from '../src/access/namespace-globs.ts';
import type { TokenReviewer } from './token-auth.ts';

export type Reader = {
  /** Stable id for the fleet view: "<k8s namespace>/<pod>" (or the service account, or the address). */
  readonly id: string;
  readonly pod: string | undefined;
  readonly namespace: string | undefined;
  readonly serviceAccount: string | undefined;
  /** When the reader's credentials expire (ms since epoch); open streams end then. */
  readonly expiresAt: number | undefined;
};

export type Recheck = { readonly ok: true } | { readonly ok: false; readonly message: string };

export type Verdict =
  | { readonly ok: true; readonly reader: Reader }
  | { readonly ok: false; readonly status: 401 | 403 | 503; readonly message: string; readonly retryAfterSeconds?: number };

export interface AccessControl {
  check(req: IncomingMessage, namespaces: readonly string[]): Promise<Verdict>;
  /** False until authorization data is loaded (readiness). */
  readonly ready: boolean;
  /** Whether `reader`, admitted earlier, may still read `namespaces` (no token review: open streams). */
  recheck(reader: Reader, namespaces: readonly string[]): Recheck;
  /** `listener` gets the Kubernetes namespace whose authorization data changed. */
  onChange(listener: (k8sNamespace: string) => void): void;
}

export class OpenAccess implements AccessControl {
  readonly ready = true;
  async check(req: IncomingMessage): Promise<Verdict> {
    const id = `anonymous/${req.socket.remoteAddress ?? 'unknown'}`;
    return { ok: true, reader: { id, pod: undefined, namespace: undefined, serviceAccount: undefined, expiresAt: undefined } };
  }
  recheck(): Recheck {
    return { ok: true };
  }
  onChange(): void {}
}

export type NamespaceAnnotations = {
  readonly synced: boolean;
  annotations(namespace: string): Readonly<Record<string, string>>;
  onChange?(listener: (namespace: string, deleted: boolean) => void): void;
};

/** Deleted namespaces remembered (their pods' cached tokens are refused); bounded, oldest forgotten first. */
const MAX_DELETED = 10_000;

export class KubernetesAccess implements AccessControl {
  readonly #reviewer: TokenReviewer;
  readonly #namespaces: NamespaceAnnotations;
  readonly #defaultAllowed: NamespaceGlobs;
  readonly #logger: Logger;
  readonly #badAnnotations = new Set<string>();
  readonly #deleted = new Set<string>();
  readonly #listeners: Array<(k8sNamespace: string) => void> = [];

  constructor(options: { reviewer: TokenReviewer; namespaces: NamespaceAnnotations; defaultAllowed: NamespaceGlobs; logger: Logger }) {
    this.#reviewer = options.reviewer;
    this.#namespaces = options.namespaces;
    this.#defaultAllowed = options.defaultAllowed;
    this.#logger = options.logger;
    options.namespaces.onChange?.((namespace, deleted) => {
      if (deleted) {
        this.#deleted.add(namespace);
        if (this.#deleted.size > MAX_DELETED) this.#deleted.delete(this.#deleted.values().next().value!);
      } else this.#deleted.delete(namespace);
      for (const listener of this.#listeners) listener(namespace);
    });
  }

  onChange(listener: (k8sNamespace: string) => void): void {
    this.#listeners.push(listener);
  }

  recheck(reader: Reader, namespaces: readonly string[]): Recheck {
    if (reader.namespace === undefined) return { ok: false, message: 'no identity' };
    const denied = this.#denied(reader.namespace, reader.serviceAccount ?? '', namespaces);
    return denied === undefined ? { ok: true } : { ok: false, message: denied };
  }

  /** Why the service account may not read one of `wanted`, or undefined when it may read them all. */
  #denied(namespace: string, serviceAccount: string, wanted: readonly string[]): string | undefined {
    if (this.#deleted.has(namespace)) return `Kubernetes namespace ${namespace} was deleted; its pods may read nothing`;
    const globs = this.#allowedFor(namespace);
    const denied = firstDisallowed(globs.globs, wanted);
    if (denied === undefined) return undefined;
    return `service account ${namespace}/${serviceAccount} may not read namespace "${denied}" (allowed: ${globs.globs.text}, from ${globs.source})`;
  }

  get ready(): boolean {
    return this.#namespaces.synced;
  }

  async check(req: IncomingMessage, wanted: readonly string[]): Promise<Verdict> {
    const token = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined)
      return { ok: false, status: 401, message: 'a bearer token is required (the pod’s projected service-account token)' };
    let review: Awaited<ReturnType<TokenReviewer['review']>>;
    try {
      review = await this.#reviewer.review(token);
    } catch (error) {
      // A fixed message with the code; the Kubernetes API's detail went to the log (token-auth.ts).
      const reason = error instanceof TokenReviewUnavailableError ? error.reason : 'api-error';
      if (!(error instanceof TokenReviewUnavailableError)) this.#logger.warn({ err: describeError(error) }, 'token review failed');
      return {
        ok: false,
        status: 503,
        message: `cannot verify the token now (${TOKEN_REVIEW_CODE}: ${reason}); retry later`,
        retryAfterSeconds: reason === 'busy' ? 1 : 5,
      };
    }
    if (!review.ok) return { ok: false, status: 401, message: review.reason };
    const { namespace, serviceAccount, podName, expiresAt } = review.identity;
    if (!this.#namespaces.synced) return { ok: false, status: 503, message: 'namespace annotations not loaded yet' };
    const denied = this.#denied(namespace, serviceAccount, wanted);
    if (denied !== undefined) return { ok: false, status: 403, message: denied };
    const reader = { id: `${namespace}/${podName ?? `sa:${serviceAccount}`}`, pod: podName, namespace, serviceAccount, expiresAt };
    return { ok: true, reader };
  }

  #allowedFor(k8sNamespace: string): AllowedNamespaces {
    const allowed = allowedNamespacesFor(k8sNamespace, this.#namespaces.annotations(k8sNamespace), this.#defaultAllowed);
    const said = `${k8sNamespace}=${allowed.invalid}`;
    if (allowed.invalid !== undefined && !this.#badAnnotations.has(said)) {
      this.#badAnnotations.add(said); // logged once per value
      this.#logger.warn({ namespace: k8sNamespace, err: allowed.invalid }, 'invalid allowed-namespaces annotation; allowing nothing');
    }
    return allowed;
  }
}
