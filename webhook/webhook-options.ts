// The webhook's settings: defaults for every injected pod (annotations override them
// per pod or namespace), cluster-wide injector settings, and the server's own.
// Sync settings are the agent's own rows (src/options/sync-options.ts) with the
// webhook's help text: same parser, same default, so they cannot drift apart.

import * as p from '../src/options/parsers.ts';
import { flag, option, optional, type OptionSpec, type OptionsOf } from '../src/options/define.ts';
import { syncOptionTable } from '../src/options/sync-options.ts';
import type { InjectionDefaults, InjectorSettings } from './injection-defaults.ts';
import { InvalidValueError } from '../src/errors.ts';
import { AGENT_ADMIN_PORT, AGENT_HTTP_PORT, clashesWithRunDirectory, PATHS } from './pod-layout.ts';

/**
 * Where the files are mounted in app containers: a normalised absolute path that is not the
 * agent's run directory, inside it or above it. One parser for --mount-path (refused at
 * webhook start) and the mount-path annotation (refused per pod), so the two cannot differ.
 */
export const filesMountPath: p.Parser<string> = {
  metavar: p.absolutePath.metavar,
  parse(raw) {
    const path = p.absolutePath.parse(raw);
    if (clashesWithRunDirectory(path)) {
      throw new InvalidValueError(
        `an absolute path that is not ${PATHS.run}, inside it, or above it: the agent's socket and cache are mounted there`,
      );
    }
    return path;
  },
};

/** A port the agent (uid 65532, no capabilities) can bind: 1024 and up. */
export const agentPort: p.Parser<number> = p.integer(1024, 65535);

const withHelp = <T>(spec: OptionSpec<T>, help: string): OptionSpec<T> => ({ ...spec, help });

export const injectionOptionTable = {
  // No default: the agent's local default (the dev-server on loopback) means nothing inside a cluster.
  centralUrl: optional(syncOptionTable.centralUrl.parser, 'Default central API URL for injected pods (annotation central-url overrides).'),
  environment: withHelp(syncOptionTable.environment, 'Default environment for injected pods.'),
  namespaces: withHelp(syncOptionTable.namespaces, 'Default namespaces to sync (annotation namespaces overrides).'),
  syncMode: withHelp(syncOptionTable.syncMode, 'Default sync mode.'),
  pollInterval: withHelp(syncOptionTable.pollInterval, 'Default poll interval.'),
  mode: option(p.oneOf(['sidecar', 'init-only'] as const), 'sidecar', 'Default injection mode.'),
  initFirst: flag(p.boolean, 'false', "Default: put the init container before the pod's own init containers."),
  nativeSidecar: flag(p.boolean, 'true', 'Default: run the agent as a native sidecar (Kubernetes ≥ 1.29).'),
  mountPath: option(filesMountPath, '/etc/llm-config', 'Default mount path of the files in app containers.'),
  cpuRequest: option(p.quantity, '50m', 'Default agent/init CPU request.'),
  cpuLimit: option(p.quantity, '200m', 'Default agent/init CPU limit.'),
  // 1.5 × the agent's steady RSS with 1,000 keys (83 MiB); docs/sizing.md has the table by number of keys.
  memoryRequest: option(p.quantity, '128Mi', 'Default agent/init memory request.'),
  memoryLimit: option(p.quantity, '256Mi', 'Default agent/init memory limit.'),
  agentImage: option(p.image, 'ghcr.io/llm-dev-ops/llm-config:0.1.0', 'Image of the agent container.'),
  initImage: option(p.image, 'ghcr.io/llm-dev-ops/llm-config-init:0.1.0', 'Image of the init container.'),
  imagePullPolicy: option(p.oneOf(['IfNotPresent', 'Always', 'Never'] as const), 'IfNotPresent', 'Pull policy of the injected images.'),
  tokenAudience: option(p.text, 'llm-config', 'Audience of the projected service-account token sent to the central API.'),
  tokenExpiration: option(
    p.duration({ min: 600_000, max: 86_400_000 }),
    '1h',
    'Lifetime of the projected token (kubelet rotates it at 80 %).',
  ),
  centralHeader: withHelp(
    syncOptionTable.centralHeader,
    "Extra central API header for every injected agent, e.g. 'X-Forwarded-Proto: https'.",
  ),
  vaultAddr: withHelp(syncOptionTable.vaultAddr, 'Vault address for pods that annotate vault-secret-<name>.'),
  vaultAuthPath: syncOptionTable.vaultAuthPath,
  vaultTokenAudience: option(p.text, 'vault', 'Audience of the projected token the agent logs in to Vault with.'),
};

export type InjectionOptions = OptionsOf<typeof injectionOptionTable>;

export function injectionDefaults(o: InjectionOptions): InjectionDefaults {
  return {
    environment: o.environment,
    namespaces: o.namespaces,
    centralUrl: o.centralUrl,
    syncMode: o.syncMode,
    pollInterval: o.pollInterval,
    mode: o.mode,
    initFirst: o.initFirst,
    nativeSidecar: o.nativeSidecar,
    mountPath: o.mountPath,
    httpPort: AGENT_HTTP_PORT,
    adminPort: AGENT_ADMIN_PORT,
    containers: undefined,
    reloadUrl: undefined,
    reloadSignal: undefined,
    reloadProcess: undefined,
    cpuRequest: o.cpuRequest,
    cpuLimit: o.cpuLimit,
    memoryRequest: o.memoryRequest,
    memoryLimit: o.memoryLimit,
    vaultRole: undefined,
  };
}

export function injectorSettings(o: InjectionOptions): InjectorSettings {
  return {
    agentImage: o.agentImage,
    initImage: o.initImage,
    imagePullPolicy: o.imagePullPolicy,
    tokenAudience: o.tokenAudience,
    tokenExpirationSeconds: Math.round(o.tokenExpiration / 1000),
    centralHeaders: o.centralHeader,
    vault: { address: o.vaultAddr, authPath: o.vaultAuthPath, tokenAudience: o.vaultTokenAudience },
  };
}
