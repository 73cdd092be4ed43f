// Assembles a running relay from frozen options: one central client per environment
// (the agent's client: token, TLS, headers, timeouts), the namespace slots and their
// scheduler under the upstream budget, state, access control, the agent-facing API,
// and the admin endpoints. `stop()` is the graceful SIGTERM path.

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CentralClient } from '../src/central/client.ts';
import { readTlsSettings } from '../src/http/tls-settings.ts';
import { createUndiciTransport } from '../src/http/undici-transport.ts';
import { describeError, InvalidSettingError } from '../src/errors.ts';
import { createLogger, type Logger } from '../src/logger.ts';
import { createHttpMetrics } from '../src/metrics/http-metrics.ts';
import { createRegistry } from '../src/metrics/registry.ts';
import { createSyncMetrics } from '../src/sync/sync-metrics.ts';
import { refusalReporter } from '../src/sync/sync-runtime.ts';
import { readSealingKey } from '../src/snapshot/seal.ts';
import { USER_AGENT } from '../src/sync/sync-context.ts';
import { WatchedFile } from '../src/credentials/watched-file.ts';
import { createAdminApi } from '../agent/admin-api.ts';
import { closeGracefully, listenTcp } from '../agent/listeners.ts';
import { OpenAccess, type AccessControl } from './access-control.ts';
import { FleetView } from './fleet-view.ts';
import { NamespaceSlots } from './namespace-slots.ts';
import { createRelayApi } from './relay-api.ts';
import { createRelayMetrics, type RelayMetrics } from './relay-metrics.ts';
import { preloads, type RelayOptions } from './relay-options.ts';
import { RelayState } from './relay-state.ts';
import { UpstreamBudget } from './upstream-budget.ts';
import { UpstreamWatches } from './upstream-watch.ts';
import { WatchStreams } from './watch-streams.ts';

export type RunningRelay = { readonly addresses: { readonly http: string; readonly admin: string }; stop(): Promise<void> };

async function upstreamClients(options: RelayOptions, logger: Logger, budget: UpstreamBudget) {
  const token = options.tokenFile === undefined ? undefined : new WatchedFile(options.tokenFile, { logger });
  await token?.start().catch((error: NodeJS.ErrnoException) => {
    throw new InvalidSettingError('--token-file', options.tokenFile!, `a readable token file (${error.code ?? 'unreadable'})`);
  });
  const tls = await readTlsSettings(options);
  const client = new CentralClient({
    baseUrl: options.centralUrl,
    environment: 'development',
    headers: options.centralHeader,
    token,
    tls,
    requestTimeoutMs: options.requestTimeout,
    maxBodyBytes: options.maxResponseBytes,
    userAgent: USER_AGENT.replace('sidecar', 'relay'),
    // The budget is enforced where requests leave, not only where they are scheduled.
    beforeSend: (signal) => budget.acquire(signal),
    // One relay per cluster: undici's pool; the per-pod agent uses Node's own client (docs/sizing.md).
    transport: createUndiciTransport,
  });
  return {
    client,
    async close() {
      await Promise.all([client.close(), token?.close()]);
    },
  };
}

/** The agent's key reader, with the relay's flag name in its errors. */
async function readStateKey(path: string): Promise<Buffer> {
  try {
    return await readSealingKey(path);
  } catch (error) {
    if (error instanceof InvalidSettingError)
      throw new InvalidSettingError('--state-key-file', error.value, error.accepted, { cause: error });
    throw error;
  }
}

type KubeConfigLike = import('@kubernetes/client-node').KubeConfig;

/** The Kubernetes client, loaded only when used: it is most of the relay's start-up time and memory. */
async function kubeConfig(options: RelayOptions): Promise<KubeConfigLike> {
  const { loadKubeConfig } = await import('../webhook/kube-api.ts');
  try {
    return loadKubeConfig(options.kubeconfig);
  } catch (error) {
    throw new InvalidSettingError(
      '--kubeconfig',
      options.kubeconfig ?? '(in-cluster)',
      `a usable kubeconfig for --auth kubernetes and --state-secret, or --auth none (${describeError(error)})`,
    );
  }
}

async function accessControl(options: RelayOptions, kube: KubeConfigLike | undefined, logger: Logger, metrics: RelayMetrics) {
  if (kube === undefined) {
    logger.warn('--auth none: every client may read every namespace; use only on a trusted network');
    return { access: new OpenAccess() as AccessControl, stop: async () => undefined };
  }
  const [{ AuthenticationV1Api }, { NamespaceDefaults }, { KubernetesAccess }, { TokenReviewer }] = await Promise.all([
    import('@kubernetes/client-node'),
    import('../webhook/kube-api.ts'),
    import('./access-control.ts'),
    import('./token-auth.ts'),
  ]);
  const reviewer = new TokenReviewer({
    api: kube.makeApiClient(AuthenticationV1Api),
    audience: options.tokenAudience,
    logger,
    metrics,
    limits: { timeoutMs: options.tokenReviewTimeout, reviewsPerSecond: options.tokenReviewRps },
  });
  const namespaces = new NamespaceDefaults(kube, logger);
  namespaces.start().catch((error: unknown) => logger.warn({ err: describeError(error) }, 'namespace informer not started; it retries'));
  const access = new KubernetesAccess({ reviewer, namespaces, defaultAllowed: options.defaultAllowed, logger });
  return { access: access as AccessControl, stop: () => namespaces.stop().catch(() => undefined) };
}

async function stateSecret(options: RelayOptions, kube: KubeConfigLike | undefined, logger: Logger) {
  if (options.stateSecret === undefined || kube === undefined) return undefined;
  const [{ CoreV1Api }, { StateSecret }] = await Promise.all([import('@kubernetes/client-node'), import('./state-secret.ts')]);
  const namespace =
    options.stateSecretNamespace ??
    (await readFile(IN_CLUSTER_NAMESPACE, 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    )) ??
    kube.getContextObject(kube.getCurrentContext())?.namespace ??
    'default';
  return new StateSecret({ api: kube.makeApiClient(CoreV1Api), name: options.stateSecret, namespace, replica: hostname(), logger });
}

/**
 * Ready means every preloaded namespace is loaded (SPEC §4: from upstream or the state).
 * Demand-driven ones never block readiness (a made-up name would hold the replica out
 * of the Service); the reason says how many of them are not loaded.
 */
function servingReason(slots: NamespaceSlots): string {
  let preloaded = 0;
  let demanded = 0;
  let cold = 0;
  for (const slot of slots.slots()) {
    if (slot.pinned) preloaded++;
    else {
      demanded++;
      if (!slot.store.loaded) cold++;
    }
  }
  return `serving: ${preloaded} preloaded namespaces loaded; ${demanded} on demand, ${cold} of them not loaded yet`;
}

const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export async function startRelay(
  options: RelayOptions,
  logger = createLogger({ level: options.logLevel, name: 'llm-config-relay' }),
): Promise<RunningRelay> {
  const registry = createRegistry({ processMetrics: true });
  const metrics = createRelayMetrics(registry);
  const budget = new UpstreamBudget(options.upstreamRps);
  const upstream = await upstreamClients(options, logger, budget);
  const cleanups: Array<() => Promise<unknown>> = [() => upstream.close()];
  try {
    const onRefused = refusalReporter(logger, createSyncMetrics(registry));
    const slots = new NamespaceSlots({
      client: upstream.client,
      budget,
      pollIntervalMs: options.pollInterval,
      idleTimeoutMs: options.idleTimeout,
      maxSlots: options.maxNamespaces,
      maxPerClient: options.maxNamespacesPerClient,
      firstLoadWaitMs: options.requestTimeout,
      resyncIntervalMs: options.resyncInterval,
      backoff: { baseMs: options.backoffBase, capMs: options.backoffMax },
      logger,
      metrics,
      onRefused,
    });
    const upstreamWatches =
      options.syncMode === 'stream'
        ? new UpstreamWatches({
            client: upstream.client,
            slots,
            budget,
            backoff: { baseMs: options.backoffBase, capMs: options.backoffMax },
            heartbeatTimeoutMs: options.heartbeatTimeout,
            resyncIntervalMs: options.resyncInterval,
            maxEventBytes: options.maxResponseBytes,
            logger,
            onRefused,
          })
        : undefined;
    const kube = options.auth === 'kubernetes' || options.stateSecret !== undefined ? await kubeConfig(options) : undefined;
    const state =
      options.stateDir === undefined
        ? undefined
        : new RelayState({
            dir: options.stateDir,
            centralUrl: options.centralUrl.href,
            key: options.stateKeyFile === undefined ? undefined : await readStateKey(options.stateKeyFile),
            slots,
            logger,
            secret: await stateSecret(options, kube, logger),
          });
    if (state) {
      await state.restore();
      slots.onEvent((event) => state.changed(event.environment));
    }
    for (const { namespace, environment } of preloads(options)) {
      if (slots.demand(environment, namespace, true) === undefined) {
        throw new InvalidSettingError('--namespaces', namespace, `at most --max-namespaces (${options.maxNamespaces}) pairs`);
      }
    }
    const { access, stop: stopAccess } = await accessControl(options, options.auth === 'kubernetes' ? kube : undefined, logger, metrics);
    cleanups.push(stopAccess);
    const fleet = new FleetView({ slots, ttlMs: options.idleTimeout });
    const watches = new WatchStreams({ slots, fleet, metrics, pingIntervalMs: options.pingInterval, access });
    metrics.observeFleet({
      pods: () => fleet.size,
      convergenceSeconds: () => {
        const newest = fleet.revision(slots.revision)?.convergedAfterMs;
        return newest === null || newest === undefined ? -1 : newest / 1000;
      },
    });
    const api = createRelayApi({
      slots,
      access,
      watches,
      fleet,
      upstream: options.centralUrl.origin,
      metrics,
      http: createHttpMetrics(registry),
    });
    const preloaded = (): boolean => [...slots.slots()].every((s) => !s.pinned || s.store.loaded);
    const adminApi = createAdminApi({
      registry,
      healthy: () => ({ ok: true, reason: 'relay running' }),
      ready: () =>
        !access.ready
          ? { ok: false, reason: 'namespace annotations not loaded yet' }
          : !preloaded()
            ? { ok: false, reason: 'preloaded namespaces not loaded yet (no upstream answer and no saved state)' }
            : { ok: true, reason: servingReason(slots) },
    });
    const admin = await listenTcp(adminHandler(adminApi, slots, fleet, watches), options.adminAddr, '--admin-addr');
    const http = await listenTcp((req, res) => void api(req, res), options.addr, '--addr');
    slots.start();
    upstreamWatches?.start();
    logger.info(
      {
        http: http.bound,
        admin: admin.bound,
        upstream: options.centralUrl.origin,
        auth: options.auth,
        preloaded: slots.size,
        upstreamRps: options.upstreamRps,
      },
      'relay started',
    );
    logger.info({ address: http.bound, url: `http://${http.bound}` }, 'listening');
    return {
      addresses: { http: http.bound, admin: admin.bound },
      async stop() {
        logger.info({ streams: watches.size }, 'stopping: ending watch streams, no new connections');
        watches.closeAll();
        await closeGracefully([http.server], options.shutdownTimeout);
        await upstreamWatches?.stop();
        await slots.stop();
        await state?.flush();
        await closeGracefully([admin.server], 0);
        await Promise.all(cleanups.map((c) => c()));
        logger.info('stopped');
      },
    };
  } catch (error) {
    await Promise.allSettled(cleanups.map((c) => c()));
    throw error;
  }
}

/** The agent's admin endpoints plus /status and /fleet (no values: names, revisions, times). */
function adminHandler(base: ReturnType<typeof createAdminApi>, slots: NamespaceSlots, fleet: FleetView, watches: WatchStreams) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const send = (status: number, body: unknown): void =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && url.pathname === '/status')
      return send(200, { ...slots.status(), streams: watches.size, pods: fleet.size });
    if (req.method === 'GET' && url.pathname === '/fleet') {
      const raw = url.searchParams.get('revision');
      if (raw === null) return send(200, { revision: slots.revision, pods: fleet.report() });
      if (!/^\d{1,16}$/.test(raw)) return send(400, { error: 'Bad Request', message: 'revision must be a whole number (an event id)' });
      const report = fleet.revision(Number(raw));
      return report
        ? send(200, report)
        : send(404, { error: 'Not Found', message: `revision ${raw} is not in the relay's log (too old, or not from this replica)` });
    }
    base(req, res);
  };
}
