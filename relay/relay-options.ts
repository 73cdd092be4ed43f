// The relay's settings: the agent's upstream flags (where the central API is, how to
// authenticate and back off), what to preload, the upstream budget, state, and how
// agents are authenticated and authorized. One literal; parsed once in bin/.

import * as p from '../src/options/parsers.ts';
import { option, optional, repeatable, type OptionsOf } from '../src/options/define.ts';
import { syncOptionTable } from '../src/options/sync-options.ts';
import { InvalidSettingError, InvalidValueError } from '../src/errors.ts';
import type { Environment } from '../src/environments.ts';
import { parseNamespaceGlobs, type NamespaceGlobs } from '../src/access/namespace-globs.ts';

/** One or more environments, comma-separated; each canonicalised. */
const environmentList: p.Parser<readonly Environment[]> = {
  metavar: 'ENV[,ENV…]',
  parse(raw) {
    const items = raw
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    if (items.length === 0) throw new InvalidValueError('a comma-separated list of environments');
    return Object.freeze([...new Set(items.map((item) => p.environment.parse(item)))]);
  },
};

const globList: p.Parser<NamespaceGlobs> = { metavar: 'GLOB[,GLOB…]', parse: parseNamespaceGlobs };

const upstream = syncOptionTable;

export const relayOptionTable = {
  centralUrl: upstream.centralUrl,
  centralHeader: upstream.centralHeader,
  tokenFile: upstream.tokenFile,
  caFile: upstream.caFile,
  clientCert: upstream.clientCert,
  clientKey: upstream.clientKey,
  insecureSkipTlsVerify: upstream.insecureSkipTlsVerify,
  requestTimeout: upstream.requestTimeout,
  maxResponseBytes: upstream.maxResponseBytes,
  syncMode: {
    ...upstream.syncMode,
    help: 'stream: one upstream watch per environment where upstream offers it (polling meanwhile and without); poll: polling only.',
  },
  resyncInterval: {
    ...upstream.resyncInterval,
    help: 'With a live upstream stream, each namespace is still listed this often; also how often a missing watch is probed again.',
  },
  heartbeatTimeout: upstream.heartbeatTimeout,
  backoffBase: upstream.backoffBase,
  backoffMax: upstream.backoffMax,
  pollInterval: option(
    p.duration({ min: 1000 }),
    '5s',
    'How often each (namespace, environment) in use is listed upstream; stretched when --upstream-rps cannot fit it.',
  ),
  upstreamRps: option(p.integer(1, 1000), '5', 'Most requests per second sent upstream, whatever the demand (docs/relay.md).'),
  namespaces: repeatable(p.namespaceList, 'Namespaces to sync from start, before any agent asks (repeatable or comma list).'),
  environment: repeatable(environmentList, 'Environments of the preloaded --namespaces (repeatable or comma list; default development).'),
  idleTimeout: option(
    p.duration({ min: 1000 }),
    '10m',
    'A namespace nobody read or watched for this long stops being synced (preloaded ones stay).',
  ),
  maxNamespaces: option(p.integer(1, 100_000), '2000', 'Most (namespace, environment) pairs held at once; more are refused with 503.'),
  maxNamespacesPerClient: option(
    p.integer(1, 100_000),
    '50',
    'Most pairs one service account (or client address with --auth none) may make the relay sync that nobody else reads; more: 429.',
  ),
  addr: option(p.listenAddress, '0.0.0.0:8080', 'Address agents connect to (the API of the dev-server, read-only).'),
  adminAddr: option(p.listenAddress, '0.0.0.0:9102', '/healthz, /readyz, /metrics, /status and /fleet; never a value.'),
  pingInterval: option(p.duration({ min: 10 }), '15s', 'Heartbeat comment interval on watch streams.'),
  stateDir: optional(p.path, 'Directory for the last-known-good state (restored at start, so a restart during an outage still serves).'),
  stateSecret: optional(
    p.text,
    'Also keep the state in this Kubernetes Secret (get/create/update on it), so a new replica starts with data during an outage.',
  ),
  stateSecretNamespace: optional(p.text, 'Namespace of --state-secret (default: the relay pod’s own namespace).'),
  stateKeyFile: optional(p.path, 'AES-256 key (32 bytes: raw, hex or base64) to seal the state; without it the state is plain JSON.'),
  auth: option(
    p.oneOf(['kubernetes', 'none'] as const),
    'kubernetes',
    'kubernetes: agents present a service-account token (TokenReview); none: anyone may read every namespace.',
  ),
  tokenAudience: option(p.text, 'llm-config', 'Audience the agents’ projected tokens must carry.'),
  tokenReviewTimeout: option(
    p.duration({ min: 100 }),
    '5s',
    'Longest wait for one TokenReview; beyond it the agent gets 503 with Retry-After (and retries).',
  ),
  tokenReviewRps: option(
    p.integer(1, 10_000),
    '50',
    'Most TokenReviews of unseen tokens per second (burst of the same size), at most 32 at once; beyond: 503, Retry-After 1.',
  ),
  defaultAllowed: option(
    globList,
    '-',
    `Namespaces a pod may read when its Kubernetes namespace has no allowed-namespaces annotation ("-": none; "*", "team/*", a,b).`,
  ),
  kubeconfig: optional(p.path, 'Kubeconfig for the Kubernetes API (default: in-cluster service account).'),
  shutdownTimeout: option(p.duration({ min: 0 }), '10s', 'On SIGTERM, how long in-flight requests may take before connections are cut.'),
  logLevel: option(p.logLevel, 'info', 'Log level.'),
};

export type RelayOptions = OptionsOf<typeof relayOptionTable>;

/** Rules that span several options; throws InvalidSettingError. */
export function validateRelayOptions(options: RelayOptions): void {
  if ((options.clientCert === undefined) !== (options.clientKey === undefined)) {
    throw new InvalidSettingError(options.clientCert ? '--client-key' : '--client-cert', '', 'required together with the other for mTLS');
  }
  if (options.backoffBase > options.backoffMax) {
    throw new InvalidSettingError('--backoff-base', String(options.backoffBase), `at most --backoff-max (${options.backoffMax}ms)`);
  }
  if (options.stateSecret !== undefined && options.stateDir === undefined) {
    throw new InvalidSettingError('--state-secret', options.stateSecret, 'only together with --state-dir (the Secret mirrors it)');
  }
  if (options.environment.length > 0 && options.namespaces.length === 0) {
    throw new InvalidSettingError(
      '--environment',
      options.environment.flat().join(','),
      'only together with --namespaces (what to preload)',
    );
  }
}

/** The (namespace, environment) pairs to preload. */
export function preloads(options: RelayOptions): Array<{ namespace: string; environment: Environment }> {
  const environments = options.environment.length > 0 ? [...new Set(options.environment.flat())] : (['development'] as const);
  const namespaces = [...new Set(options.namespaces.flat())];
  return environments.flatMap((environment) => namespaces.map((namespace) => ({ namespace, environment })));
}
