// `llm-config webhook`: the HTTPS mutating admission webhook. TLS from files (reloaded
// on rotation) or self-managed (one CA + serving cert shared by the replicas, caBundle patched).

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { defineCommand } from '../src/command.ts';
import { flag, option, optional, type OptionsOf } from '../src/options/define.ts';
import * as p from '../src/options/parsers.ts';
import { createLogger } from '../src/logger.ts';
import { createAdmissionMetrics } from './admission-metrics.ts';
import { createRegistry } from '../src/metrics/registry.ts';
import { InvalidSettingError } from '../src/errors.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from './webhook-options.ts';
import { createAdmissionHandler } from './admission-handler.ts';
import { createWebhookServer, reloadCertificate } from './https-server.ts';
import { CertificateFiles, readPair, type CertificatePair } from './tls-files.ts';
import { certificateExpiryGauge } from './tls-material.ts';
import { loadKubeConfig, NamespaceDefaults, SelfManagedTls } from './kube-api.ts';
import { parseNamespaceGlobs } from '../src/access/namespace-globs.ts';

export const webhookOptionTable = {
  addr: option(p.listenAddress, '0.0.0.0:8443', 'HTTPS listen address (port 0 picks a free port; the bound address is logged).'),
  tlsMode: option(
    p.oneOf(['files', 'self-managed'] as const),
    'files',
    'files: --tls-cert-file/--tls-key-file, reloaded on rotation; self-managed: generate a CA and certificate at start and patch the caBundle.',
  ),
  tlsCertFile: optional(p.path, 'PEM serving certificate (tls-mode files).'),
  tlsKeyFile: optional(p.path, 'PEM serving key (tls-mode files).'),
  webhookConfigName: option(
    p.text,
    'llm-config-injector',
    'MutatingWebhookConfiguration whose caBundle is patched (tls-mode self-managed).',
  ),
  serviceName: option(p.text, 'llm-config-injector', 'Service name in the generated certificate (tls-mode self-managed).'),
  serviceNamespace: option(p.text, 'llm-config', 'Service namespace in the generated certificate (tls-mode self-managed).'),
  certValidity: option(
    p.duration({ min: 3_600_000, max: 10 * 8760 * 3_600_000 }), // not a timer: a certificate's lifetime
    '8760h',
    'Lifetime of the self-managed certificate, shared by all replicas; renewed when a third of it is left.',
  ),
  namespaceDefaults: flag(p.boolean, 'true', 'Read namespace annotations as per-namespace defaults (needs list/watch on namespaces).'),
  relayAuthorization: flag(
    p.boolean,
    'false',
    "Agents read through the relay with --auth kubernetes: refuse a pod whose namespaces its Kubernetes namespace's allowed-namespaces annotation does not allow (docs/relay.md).",
  ),
  relayDefaultAllowed: option(
    { metavar: 'GLOB[,GLOB…]', parse: parseNamespaceGlobs },
    '-',
    "The relay's --default-allowed: what pods of a namespace without the allowed-namespaces annotation may read.",
  ),
  kubeconfig: optional(p.path, 'Kubeconfig file (default: in-cluster service account, then ~/.kube/config).'),
  headersTimeout: option(
    p.duration({ min: 100, max: 30_000 }),
    '2s',
    "Time for a request's TLS handshake and headers; keep it well under the webhook's timeoutSeconds.",
  ),
  bodyTimeout: option(
    p.duration({ min: 100, max: 30_000 }),
    '2s',
    "Time for a request's whole body after its headers (408 after it); keep it well under timeoutSeconds.",
  ),
  maxBodyBytes: option(
    p.integer(64 * 1024, 64 * 1024 * 1024),
    '3145728',
    'Largest AdmissionReview accepted (413 above; the API server sends at most 3 MiB).',
  ),
  maxInflightBytes: option(
    p.integer(1024 * 1024, 1024 * 1024 * 1024),
    '33554432',
    'Request body bytes held at once across all requests (503 with Retry-After above); bounds memory under slow clients.',
  ),
  logLevel: option(p.logLevel, 'info', 'Log level.'),
  ...injectionOptionTable,
};

type WebhookOptions = OptionsOf<typeof webhookOptionTable>;

function validate(options: WebhookOptions): void {
  if (options.tlsMode === 'files' && (options.tlsCertFile === undefined || options.tlsKeyFile === undefined)) {
    throw new InvalidSettingError(
      options.tlsCertFile ? '--tls-key-file' : '--tls-cert-file',
      '',
      'required with --tls-mode files (or use --tls-mode self-managed)',
    );
  }
}

export const webhookCommand = defineCommand({
  name: 'webhook',
  summary: 'Run the HTTPS mutating admission webhook (POST /mutate, AdmissionReview v1).',
  usage: 'llm-config webhook --tls-cert-file FILE --tls-key-file FILE --central-url URL [options]',
  options: webhookOptionTable,
  validate,
  async run(options, context) {
    const logger = createLogger({ level: options.logLevel, name: 'llm-config-webhook' });
    const needsKube = options.namespaceDefaults || options.tlsMode === 'self-managed';
    const kube = needsKube ? loadKubeConfig(options.kubeconfig) : undefined;
    const namespaces = options.namespaceDefaults && kube ? new NamespaceDefaults(kube, logger) : undefined;
    let pair: CertificatePair;
    let certificateFiles: CertificateFiles | undefined;
    let selfManaged: SelfManagedTls | undefined;
    if (options.tlsMode === 'files') {
      pair = await readPair(options.tlsCertFile!, options.tlsKeyFile!).catch((error: Error) => {
        throw new InvalidSettingError(
          '--tls-cert-file',
          options.tlsCertFile!,
          `a readable PEM certificate matching --tls-key-file (${error.message})`,
        );
      });
    } else {
      // One CA and certificate for every replica, in a Secret made under a Lease (kube-api.ts).
      selfManaged = new SelfManagedTls(kube!, { ...options, validityMs: options.certValidity }, logger);
      pair = await selfManaged.start();
    }
    const registry = createRegistry({ processMetrics: true });
    const certificateExpiry = certificateExpiryGauge(registry);
    certificateExpiry(pair.cert);
    const handler = createAdmissionHandler({
      onAdmission: createAdmissionMetrics(registry),
      metrics: async () => ({ contentType: registry.contentType, text: await registry.metrics() }),
      context: {
        defaults: injectionDefaults(options),
        settings: injectorSettings(options),
        namespaceAnnotations: (ns) => namespaces?.annotations(ns) ?? {},
        relay: options.relayAuthorization ? { defaultAllowed: options.relayDefaultAllowed } : undefined,
      },
      ready: () =>
        namespaces && !namespaces.synced ? { ok: false, reason: 'namespace cache not synced yet' } : { ok: true, reason: 'TLS loaded' },
      logger,
      limits: { maxBodyBytes: options.maxBodyBytes, bodyTimeoutMs: options.bodyTimeout, maxInflightBytes: options.maxInflightBytes },
    });
    const timeouts = { headersTimeoutMs: options.headersTimeout, bodyTimeoutMs: options.bodyTimeout };
    const server = createWebhookServer(pair, timeouts, (req, res) => {
      handler(req, res).catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, 'admission handler failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    if (options.tlsMode === 'files') {
      certificateFiles = new CertificateFiles(
        options.tlsCertFile!,
        options.tlsKeyFile!,
        logger,
        (next) => {
          reloadCertificate(server, next);
          certificateExpiry(next.cert);
        },
        pair,
      );
      await certificateFiles.watch();
    }
    selfManaged?.watch((next) => {
      reloadCertificate(server, next);
      certificateExpiry(next.cert);
    });
    // Not awaited: /readyz stays 503 until the cache is synced, so the API server is never waited on here.
    namespaces
      ?.start()
      .catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'namespace informer not started; it retries'));
    server.listen(options.addr.port, options.addr.host);
    // A port in use (or an address not ours) is a setting to fix: one line naming it, as the agent says it.
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]).catch(
      (error: unknown) => {
        throw new InvalidSettingError(
          '--addr',
          options.addr.host.includes(':') ? `[${options.addr.host}]:${options.addr.port}` : `${options.addr.host}:${options.addr.port}`,
          `an address this process can listen on (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
          { cause: error },
        );
      },
    );
    const bound = server.address() as AddressInfo;
    logger.info(
      { address: `${bound.address}:${bound.port}`, url: `https://127.0.0.1:${bound.port}`, tlsMode: options.tlsMode },
      'listening',
    );
    await once(context.signal, 'abort');
    logger.info('shutting down');
    server.close();
    server.closeIdleConnections();
    selfManaged?.close();
    await Promise.all([certificateFiles?.close(), namespaces?.stop()]);
    return 0;
  },
});
