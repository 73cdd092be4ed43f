// The one annotation table. Each row: annotation name, parser, and the doc line
// `docs/admin.md` shows. Settings the agent also takes use the agent's own option rows
// (src/options/sync-options.ts, agent/agent-options.ts), so the webhook admits exactly
// the values the agent accepts. Values are looked up pod first, then the pod's
// namespace, then the webhook's own defaults; nothing is written back.

import * as p from '../src/options/parsers.ts';
import type { Parser } from '../src/options/parsers.ts';
import { syncOptionTable } from '../src/options/sync-options.ts';
import { agentOptionTable } from '../agent/agent-options.ts';
import { InvalidSettingError, InvalidValueError } from '../src/errors.ts';
import type { InjectionDefaults } from './injection-defaults.ts';
import { agentPort, injectionOptionTable as defaults } from './webhook-options.ts';

export const PREFIX = 'config.llm-dev-ops.io/';
export const STATUS_ANNOTATION = `${PREFIX}status`;

type Row<K extends keyof InjectionDefaults> = {
  readonly key: K;
  readonly parser: Parser<InjectionDefaults[K]>;
  readonly doc: string;
};
const row = <K extends keyof InjectionDefaults>(key: K, parser: Parser<InjectionDefaults[K]>, doc: string): Row<K> => ({
  key,
  parser,
  doc,
});

/** annotation suffix → how to read it. `inject`, `status` and the per-file families are handled apart. */
export const ANNOTATIONS = {
  environment: row(
    'environment',
    syncOptionTable.environment.parser,
    'Environment to sync (base, development|dev, staging|stage, production|prod, edge).',
  ),
  namespaces: row(
    'namespaces',
    syncOptionTable.namespaces.parser,
    'Comma-separated namespaces of the central API to sync. Required (here or on the namespace).',
  ),
  'central-url': row('centralUrl', syncOptionTable.centralUrl.parser, 'Central API base URL.'),
  'sync-mode': row('syncMode', syncOptionTable.syncMode.parser, 'stream (SSE, falls back to polling) or poll.'),
  'poll-interval': row('pollInterval', syncOptionTable.pollInterval.parser, 'Poll interval, e.g. 30s.'),
  mode: row('mode', defaults.mode.parser, 'sidecar (init + agent) or init-only (Jobs, CronJobs: nothing left running).'),
  'init-first': row('initFirst', defaults.initFirst.parser, "Put the init container before the pod's own init containers."),
  'native-sidecar': row(
    'nativeSidecar',
    defaults.nativeSidecar.parser,
    'Run the agent as a native sidecar (init container, restartPolicy: Always; Kubernetes ≥ 1.29).',
  ),
  'mount-path': row('mountPath', defaults.mountPath.parser, 'Where app containers see the files.'),
  'http-port': row('httpPort', agentPort, "Port of the agent's local API on 127.0.0.1 (default 8080); LLM_CONFIG_URL follows."),
  'admin-port': row('adminPort', agentPort, "Port of the agent's probes and metrics (default 9102)."),
  containers: row('containers', p.dnsLabelList, 'App containers that get the mount and env (default: all).'),
  'reload-url': row('reloadUrl', agentOptionTable.reloadUrl.parser, 'POST here after files changed.'),
  'reload-signal': row('reloadSignal', agentOptionTable.reloadSignal.parser, 'Signal for reload-process (default SIGHUP).'),
  'reload-process': row(
    'reloadProcess',
    agentOptionTable.reloadProcess.parser,
    'Process to signal after files changed (needs shareProcessNamespace: true).',
  ),
  'cpu-request': row('cpuRequest', defaults.cpuRequest.parser, 'Agent and init CPU request.'),
  'cpu-limit': row('cpuLimit', defaults.cpuLimit.parser, 'Agent and init CPU limit.'),
  'memory-request': row('memoryRequest', defaults.memoryRequest.parser, 'Agent and init memory request.'),
  'memory-limit': row('memoryLimit', defaults.memoryLimit.parser, 'Agent and init memory limit.'),
  'vault-role': row('vaultRole', syncOptionTable.vaultRole.parser, 'Vault Kubernetes auth role for vault-secret-<name> (docs/vault.md).'),
} as const;

export type Annotations = Readonly<Record<string, string>>;

/** Reads one annotation with the pod winning over the namespace; throws InvalidSettingError naming it. */
export function readAnnotation<T>(name: string, parser: Parser<T>, pod: Annotations, namespace: Annotations): T | undefined {
  const full = `${PREFIX}${name}`;
  const raw = pod[full] ?? namespace[full];
  if (raw === undefined) return undefined;
  try {
    return parser.parse(raw);
  } catch (error) {
    if (error instanceof InvalidValueError) throw new InvalidSettingError(full, raw, error.message);
    throw error;
  }
}

/** Our annotations that no row or family knows: typos must not be silently ignored. */
export function unknownAnnotations(annotations: Annotations): string[] {
  return Object.keys(annotations)
    .filter((k) => k.startsWith(PREFIX))
    .map((k) => k.slice(PREFIX.length))
    .filter(
      (name) =>
        !(name in ANNOTATIONS) &&
        name !== 'inject' &&
        name !== 'status' &&
        // set on Kubernetes namespaces for the relay (src/access/namespace-globs.ts), not an injection setting
        name !== 'allowed-namespaces' &&
        !/^(file|template|vault-secret)-./.test(name),
    );
}
