// Authentication and authorization of agent requests. --auth kubernetes: a bearer
// token, reviewed (token-auth.ts), then the pod's Kubernetes namespace must allow every
// central namespace asked for, by its allowed-namespaces annotation (read from an
// informer, so an edit takes effect without a restart) or else --default-allowed.
// --auth none: everyone may read everything (trusted networks, local work).

import type { IncomingMessage } from 'node:http';
import { describeError } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';
import { allowedNamespacesFor, firstDisallowed, type AllowedNamespaces, type NamespaceGlobs } from '../src/namespace-globs.ts';
import type { TokenReviewer } from './token-auth.ts';

export type Reader = {
  /** Stable id for the fleet view: "<k8s namespace>/<pod>" (or the service account, or the address). */
  readonly id: string;
  readonly pod: string | undefined;
  readonly namespace: string | undefined;
  readonly serviceAccount: string | undefined;
};

export type Verdict =
  | { readonly ok: true; readonly reader: Reader }
  | { readonly ok: false; readonly status: 401 | 403 | 503; readonly message: string };

export interface AccessControl {
  check(req: IncomingMessage, namespaces: readonly string[]): Promise<Verdict>;
  /** False until authorization data is loaded (readiness). */
  readonly ready: boolean;
}

export class OpenAccess implements AccessControl {
  readonly ready = true;
  async check(req: IncomingMessage): Promise<Verdict> {
    const id = `anonymous/${req.socket.remoteAddress ?? 'unknown'}`;
    return { ok: true, reader: { id, pod: undefined, namespace: undefined, serviceAccount: undefined } };
  }
}

export type NamespaceAnnotations = {
  readonly synced: boolean;
  annotations(namespace: string): Readonly<Record<string, string>>;
};

export class KubernetesAccess implements AccessControl {
  readonly #reviewer: TokenReviewer;
  readonly #namespaces: NamespaceAnnotations;
  readonly #defaultAllowed: NamespaceGlobs;
  readonly #logger: Logger;
  readonly #badAnnotations = new Set<string>();

  constructor(options: { reviewer: TokenReviewer; namespaces: NamespaceAnnotations; defaultAllowed: NamespaceGlobs; logger: Logger }) {
    this.#reviewer = options.reviewer;
    this.#namespaces = options.namespaces;
    this.#defaultAllowed = options.defaultAllowed;
    this.#logger = options.logger;
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
      return { ok: false, status: 503, message: `cannot verify the token now (Kubernetes API: ${describeError(error)})` };
    }
    if (!review.ok) return { ok: false, status: 401, message: review.reason };
    const { namespace, serviceAccount, podName } = review.identity;
    if (!this.#namespaces.synced) return { ok: false, status: 503, message: 'namespace annotations not loaded yet' };
    const globs = this.#allowedFor(namespace);
    const denied = firstDisallowed(globs.globs, wanted);
    if (denied !== undefined) {
      return {
        ok: false,
        status: 403,
        message: `service account ${namespace}/${serviceAccount} may not read namespace "${denied}" (allowed: ${globs.globs.text}, from ${globs.source})`,
      };
    }
    const reader = { id: `${namespace}/${podName ?? `sa:${serviceAccount}`}`, pod: podName, namespace, serviceAccount };
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
