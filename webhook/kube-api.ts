// The two things the webhook asks of the Kubernetes API, through @kubernetes/client-node:
// patching the MutatingWebhookConfiguration's caBundle (self-managed TLS), and an
// informer over namespaces so admission reads namespace defaults from memory and never
// waits on the API server.

import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type V1Namespace,
  type Informer,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from '../src/logger.ts';
import { describeError } from '../src/errors.ts';
import { PREFIX } from './annotations.ts';
import { mergeCaBundle } from './tls-material.ts';

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const config = new KubeConfig();
  if (path) config.loadFromFile(path);
  else config.loadFromDefault(); // in a pod: the service account
  return config;
}

/** Puts `caPem` first in every webhook's caBundle, keeping still-valid previous CAs. */
export async function publishCaBundle(config: KubeConfig, name: string, caPem: string, logger: Logger): Promise<void> {
  const api = config.makeApiClient(AdmissionregistrationV1Api);
  const current = await api.readMutatingWebhookConfiguration({ name });
  const operations = (current.webhooks ?? []).map((webhook, i) => {
    const existing = webhook.clientConfig.caBundle ? Buffer.from(webhook.clientConfig.caBundle, 'base64').toString('utf8') : '';
    const bundle = Buffer.from(mergeCaBundle(caPem, existing)).toString('base64');
    return { op: webhook.clientConfig.caBundle ? 'replace' : 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle };
  });
  if (operations.length === 0) throw new Error(`MutatingWebhookConfiguration ${name} has no webhooks to patch`);
  await api.patchMutatingWebhookConfiguration({ name, body: operations }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
  logger.info({ name, webhooks: operations.length }, 'caBundle patched');
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

  /** Our annotations on `namespace` (others are dropped: they are none of our business). */
  annotations(namespace: string): Record<string, string> {
    const all = this.#informer.get(namespace)?.metadata?.annotations ?? {};
    return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(PREFIX)));
  }
}
