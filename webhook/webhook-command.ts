// `llm-config webhook`: the HTTPS mutating admission webhook. TLS from files (reloaded
// on rotation) or self-managed (CA + serving cert generated at start, caBundle patched).

import { createServer } from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { defineCommand } from '../src/command.ts';
import { flag, option, optional, type OptionsOf } from '../src/options/define.ts';
import * as p from '../src/options/parsers.ts';
import { createLogger } from '../src/logger.ts';
import { createAdmissionMetrics, createRegistry } from '../src/metrics.ts';
import { InvalidSettingError } from '../src/errors.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from './webhook-options.ts';
import { createAdmissionHandler } from './admission-handler.ts';
import { CertificateFiles, readPair, type CertificatePair } from './tls-files.ts';
import { generateTlsMaterial, serviceDnsNames } from './tls-material.ts';
import { loadKubeConfig, NamespaceDefaults, publishCaBundle } from './kube-api.ts';

const webhookOptionTable = {
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
    p.duration({ min: 3_600_000 }),
    '8760h',
    'Lifetime of the self-managed certificate; the pod regenerates it on restart.',
  ),
  namespaceDefaults: flag(p.boolean, 'true', 'Read namespace annotations as per-namespace defaults (needs list/watch on namespaces).'),
  kubeconfig: optional(p.path, 'Kubeconfig file (default: in-cluster service account, then ~/.kube/config).'),
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
    if (options.tlsMode === 'files') {
      pair = await readPair(options.tlsCertFile!, options.tlsKeyFile!).catch((error: Error) => {
        throw new InvalidSettingError(
          '--tls-cert-file',
          options.tlsCertFile!,
          `a readable PEM certificate matching --tls-key-file (${error.message})`,
        );
      });
    } else {
      const material = await generateTlsMaterial({
        commonName: `${options.serviceName}.${options.serviceNamespace}.svc`,
        dnsNames: serviceDnsNames(options.serviceName, options.serviceNamespace),
        validityDays: options.certValidity / 86_400_000,
      });
      await publishCaBundle(kube!, options.webhookConfigName, material.caPem, logger);
      pair = { cert: material.certPem, key: material.keyPem };
    }
    const registry = createRegistry({ processMetrics: true });
    const handler = createAdmissionHandler({
      onAdmission: createAdmissionMetrics(registry),
      metrics: async () => ({ contentType: registry.contentType, text: await registry.metrics() }),
      context: {
        defaults: injectionDefaults(options),
        settings: injectorSettings(options),
        namespaceAnnotations: (ns) => namespaces?.annotations(ns) ?? {},
      },
      ready: () =>
        namespaces && !namespaces.synced ? { ok: false, reason: 'namespace cache not synced yet' } : { ok: true, reason: 'TLS loaded' },
      logger,
    });
    const server = createServer({ ...pair, minVersion: 'TLSv1.2' }, (req, res) => {
      handler(req, res).catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, 'admission handler failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    if (options.tlsMode === 'files') {
      certificateFiles = new CertificateFiles(options.tlsCertFile!, options.tlsKeyFile!, logger, (next) =>
        server.setSecureContext({ ...next, minVersion: 'TLSv1.2' }),
      );
      await certificateFiles.watch();
    }
    // Not awaited: /readyz stays 503 until the cache is synced, so the API server is never waited on here.
    namespaces
      ?.start()
      .catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'namespace informer not started; it retries'));
    server.listen(options.addr.port, options.addr.host);
    await once(server, 'listening');
    const bound = server.address() as AddressInfo;
    logger.info(
      { address: `${bound.address}:${bound.port}`, url: `https://127.0.0.1:${bound.port}`, tlsMode: options.tlsMode },
      'listening',
    );
    await once(context.signal, 'abort');
    logger.info('shutting down');
    server.close();
    server.closeIdleConnections();
    await Promise.all([certificateFiles?.close(), namespaces?.stop()]);
    return 0;
  },
});
