// What the webhook asks of the Kubernetes API, through @kubernetes/client-node:
// self-managed TLS (one CA and certificate shared by all replicas in a Secret, made
// under a Lease; the MutatingWebhookConfiguration's caBundle patched with optimistic
// concurrency), and an informer over namespaces so admission reads namespace defaults
// from memory and never waits on the API server.

import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  V1MicroTime,
  makeInformer,
  setHeaderOptions,
  type V1Lease,
  type V1Namespace,
  type V1Secret,
  type Informer,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from '../src/logger.ts';
import { describeError, WebhookTlsError } from '../src/errors.ts';
import { PREFIX } from './annotations.ts';
import type { CertificatePair } from './tls-files.ts';
import { checkSharedMaterial, generateTlsMaterial, mergeCaBundle, serviceDnsNames, type TlsMaterial } from './tls-material.ts';

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const config = new KubeConfig();
  if (path) config.loadFromFile(path);
  else config.loadFromDefault(); // in a pod: the service account
  return config;
}

type JsonPatchOp = { op: 'test' | 'add' | 'replace'; path: string; value: unknown };

/** 409 (resourceVersion conflict, already exists) and 422 (failed JSON Patch `test`): someone else wrote first. */
const isConflict = (error: unknown) => error instanceof ApiException && (error.code === 409 || error.code === 422);
const isNotFound = (error: unknown) => error instanceof ApiException && error.code === 404;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms / 2 + Math.random() * (ms / 2)));

/**
 * Puts the CAs of `caPem` first in every webhook's caBundle, keeping still-valid CAs
 * already there (replicas of an older version, or before a renewal). Optimistic
 * concurrency: the patch carries a `test` of the resourceVersion it was computed from,
 * and is recomputed on a conflict, so a concurrent writer's CA is never lost.
 */
export async function publishCaBundle(config: KubeConfig, name: string, caPem: string, logger: Logger, attempts = 10): Promise<void> {
  const api = config.makeApiClient(AdmissionregistrationV1Api);
  for (let attempt = 1; ; attempt++) {
    const current = await api.readMutatingWebhookConfiguration({ name });
    const webhooks = current.webhooks ?? [];
    if (webhooks.length === 0) throw new WebhookTlsError(`MutatingWebhookConfiguration ${name} has no webhooks to patch`);
    const version = current.metadata?.resourceVersion;
    const operations: JsonPatchOp[] = version ? [{ op: 'test', path: '/metadata/resourceVersion', value: version }] : [];
    const guards = operations.length;
    webhooks.forEach((webhook, i) => {
      const existing = webhook.clientConfig.caBundle ? Buffer.from(webhook.clientConfig.caBundle, 'base64').toString('utf8') : '';
      const bundle = Buffer.from(mergeCaBundle(caPem, existing)).toString('base64');
      if (bundle !== webhook.clientConfig.caBundle)
        operations.push({ op: existing ? 'replace' : 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle });
    });
    if (operations.length === guards) return logger.debug({ name }, 'caBundle already current');
    try {
      await api.patchMutatingWebhookConfiguration({ name, body: operations }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
      return logger.info({ name, webhooks: operations.length - guards, attempt }, 'caBundle patched');
    } catch (error) {
      if (!isConflict(error) || attempt >= attempts) throw error;
      await pause(100 * attempt);
    }
  }
}

export type SelfManagedTlsSettings = {
  readonly webhookConfigName: string;
  readonly serviceName: string;
  readonly serviceNamespace: string;
  readonly validityMs: number;
  /** Lease holder name; the pod name by default (os.hostname() in a pod). */
  readonly identity?: string;
  /** How often a running replica re-reads the Secret and the caBundle (renewal, repair). */
  readonly checkIntervalMs?: number;
  /** How long to wait for another replica's Lease before giving up. */
  readonly leaseWaitMs?: number;
};

/** Names of the shared Secret and its Lease: derived, so the chart's RBAC can name them. */
export const selfManagedObjectName = (serviceName: string) => `${serviceName}-self-managed-tls`;

const LEASE_SECONDS = 15;

/**
 * Self-managed TLS shared by every replica: one CA and serving certificate in a Secret
 * in the Service's namespace, made (or renewed) by one replica at a time under a
 * coordination.k8s.io Lease, then the CA published in the caBundle. Replicas that start
 * together, restart, or run old and new side by side in a rollout all serve certificates
 * of a CA that is in the bundle.
 */
export class SelfManagedTls {
  readonly #core: CoreV1Api;
  readonly #leases: CoordinationV1Api;
  readonly #name: string;
  readonly #dnsNames: string[];
  readonly #identity: string;
  readonly config: KubeConfig;
  readonly settings: SelfManagedTlsSettings;
  readonly logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #serving = '';

  constructor(config: KubeConfig, settings: SelfManagedTlsSettings, logger: Logger) {
    this.config = config;
    this.settings = settings;
    this.logger = logger;
    this.#core = config.makeApiClient(CoreV1Api);
    this.#leases = config.makeApiClient(CoordinationV1Api);
    this.#name = selfManagedObjectName(settings.serviceName);
    this.#dnsNames = serviceDnsNames(settings.serviceName, settings.serviceNamespace);
    this.#identity = settings.identity ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
  }

  /** The shared certificate (made if there is none or it is due), its CA published. */
  async start(): Promise<CertificatePair> {
    const material = await this.#ensure();
    this.#serving = material.certPem;
    return { cert: material.certPem, key: material.keyPem };
  }

  /** Re-checks every checkIntervalMs; `onChange` gets a renewed certificate (another replica's or ours). */
  watch(onChange: (pair: CertificatePair) => void): void {
    const tick = async () => {
      try {
        const material = await this.#ensure();
        if (material.certPem !== this.#serving) {
          this.#serving = material.certPem;
          onChange({ cert: material.certPem, key: material.keyPem });
          this.logger.info({ notAfter: material.notAfter.toISOString() }, 'serving certificate reloaded');
        }
      } catch (error) {
        this.logger.warn({ err: describeError(error) }, 'self-managed TLS check failed; retrying later');
      }
      this.#timer = setTimeout(tick, this.#interval()).unref();
    };
    this.#timer = setTimeout(tick, this.#interval()).unref();
  }

  close(): void {
    clearTimeout(this.#timer);
  }

  /** Namespace/name of the Secret and the Lease, for logs. */
  #objectPath(): string {
    return `${this.settings.serviceNamespace}/${this.#name}`;
  }

  #interval(): number {
    const base = this.settings.checkIntervalMs ?? 300_000;
    return base / 2 + Math.random() * base; // jittered: replicas do not check on one beat
  }

  async #ensure(): Promise<TlsMaterial> {
    const check = checkSharedMaterial(await this.#readSecret(), this.#dnsNames);
    let material: TlsMaterial;
    if (check.ok) material = check.material;
    else {
      this.logger.info({ object: this.#objectPath(), reason: check.reason }, 'shared certificate missing or due: taking the lease');
      material = await this.#underLease(async () => {
        const again = await this.#readSecret(); // another replica may have made it while we waited
        const found = checkSharedMaterial(again, this.#dnsNames);
        return found.ok ? found.material : this.#create(again['ca.crt'] ?? '');
      });
    }
    await publishCaBundle(this.config, this.settings.webhookConfigName, material.caPem, this.logger);
    return material;
  }

  async #readSecret(): Promise<Record<string, string>> {
    try {
      const secret = await this.#core.readNamespacedSecret({ name: this.#name, namespace: this.settings.serviceNamespace });
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    } catch (error) {
      if (isNotFound(error)) return {};
      throw error;
    }
  }

  /** New CA and certificate; the previous bundle's still-valid CAs stay behind the new one. */
  async #create(previousBundle: string): Promise<TlsMaterial> {
    const made = await generateTlsMaterial({
      commonName: `${this.settings.serviceName}.${this.settings.serviceNamespace}.svc`,
      dnsNames: this.#dnsNames,
      validityDays: this.settings.validityMs / 86_400_000,
    });
    const material = { ...made, caPem: mergeCaBundle(made.caPem, previousBundle) };
    const data = { 'tls.crt': material.certPem, 'tls.key': material.keyPem, 'ca.crt': material.caPem };
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: this.#name,
        namespace: this.settings.serviceNamespace,
        labels: { 'app.kubernetes.io/managed-by': 'llm-config-webhook' },
      },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    };
    const namespace = this.settings.serviceNamespace;
    try {
      await this.#core.createNamespacedSecret({ namespace, body });
    } catch (error) {
      if (!isConflict(error)) throw error;
      const current = await this.#core.readNamespacedSecret({ name: this.#name, namespace });
      body.metadata!.resourceVersion = current.metadata?.resourceVersion; // we hold the lease: replace what is there
      await this.#core.replaceNamespacedSecret({ name: this.#name, namespace, body });
    }
    this.logger.info({ object: this.#objectPath(), notAfter: material.notAfter.toISOString() }, 'shared certificate created');
    return material;
  }

  async #underLease<T>(work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.settings.leaseWaitMs ?? 60_000);
    const namespace = this.settings.serviceNamespace;
    for (let attempt = 1; ; attempt++) {
      if (await this.#tryAcquire(namespace)) break;
      if (Date.now() > deadline)
        throw new WebhookTlsError(`Lease ${namespace}/${this.#name} held by another replica for too long; is it stuck?`);
      await pause(Math.min(2000, 200 * attempt));
    }
    try {
      return await work();
    } finally {
      await this.#release(namespace).catch((error: unknown) =>
        this.logger.warn({ err: describeError(error) }, 'lease not released; it expires'),
      );
    }
  }

  async #tryAcquire(namespace: string): Promise<boolean> {
    const now = new V1MicroTime();
    const spec = { holderIdentity: this.#identity, leaseDurationSeconds: LEASE_SECONDS, acquireTime: now, renewTime: now };
    let lease: V1Lease;
    try {
      lease = await this.#leases.readNamespacedLease({ name: this.#name, namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.#name, namespace }, spec };
      return this.#leases.createNamespacedLease({ namespace, body }).then(
        () => true,
        (e: unknown) => (isConflict(e) ? false : Promise.reject(e)),
      );
    }
    const held = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const expires = renewed + (lease.spec?.leaseDurationSeconds ?? LEASE_SECONDS) * 1000;
    if (held && held !== this.#identity && expires > Date.now()) return false;
    const body: V1Lease = { ...lease, spec: { ...lease.spec, ...spec } };
    return this.#leases.replaceNamespacedLease({ name: this.#name, namespace, body }).then(
      () => true,
      (e: unknown) => (isConflict(e) ? false : Promise.reject(e)),
    );
  }

  async #release(namespace: string): Promise<void> {
    const lease = await this.#leases.readNamespacedLease({ name: this.#name, namespace });
    if (lease.spec?.holderIdentity !== this.#identity) return;
    const body: V1Lease = { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined, acquireTime: undefined } };
    await this.#leases.replaceNamespacedLease({ name: this.#name, namespace, body });
  }
}

export class NamespaceDefaults {
  readonly #informer: Informer<V1Namespace> & ObjectCache<V1Namespace>;
  #synced = false;

  constructor(config: KubeConfig, logger: Logger) {
    const api = config.makeApiClient(CoreV1Api);
    this.#informer = makeInformer(config, '/api/v1/namespaces', () => api.listNamespace());
    this.#informer.on('connect', () => {
      this.#synced = true;
    });
    this.#informer.on('error', (error: unknown) => {
      logger.warn({ err: describeError(error) }, 'namespace informer error; restarting in 5s');
      setTimeout(() => void this.#informer.start().catch(() => undefined), 5000).unref();
    });
  }

  get synced(): boolean {
    return this.#synced;
  }

  async start(): Promise<void> {
    await this.#informer.start();
    this.#synced = true;
  }

  async stop(): Promise<void> {
    await this.#informer.stop();
  }

  /** Calls `listener` with a namespace's name whenever it is added, changed or deleted (the relay re-checks open streams). */
  onChange(listener: (namespace: string, deleted: boolean) => void): void {
    for (const verb of ['add', 'update', 'delete'] as const)
      this.#informer.on(verb, (object: V1Namespace) => listener(object.metadata?.name ?? '', verb === 'delete'));
  }

  /** Our annotations on `namespace` (others are dropped: they are none of our business). */
  annotations(namespace: string): Record<string, string> {
    const all = this.#informer.get(namespace)?.metadata?.annotations ?? {};
    return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(PREFIX)));
  }
}
