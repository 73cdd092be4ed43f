// Injection model → the Kubernetes objects to add: init container, agent, volumes,
// app mounts and env. Agent and init flags are written from the programs' own option
// tables (flagName of each key), so a renamed flag breaks the type check, not a pod.

import { flagName } from '../src/options/define.ts';
import { formatDurationMs } from '../src/durations.ts';
import type { agentOptionTable } from '../agent/agent-options.ts';
import type { InjectionModel } from './injection-model.ts';

export const NAMES = {
  filesVolume: 'llm-config-files',
  runVolume: 'llm-config-run',
  tokenVolume: 'llm-config-token',
  init: 'llm-config-init',
  agent: 'llm-config-agent',
} as const;

export const PATHS = {
  files: '/etc/llm-config',
  run: '/var/run/llm-config',
  socket: '/var/run/llm-config/agent.sock',
  tokenDir: '/var/run/secrets/llm-config',
  token: '/var/run/secrets/llm-config/token',
  vaultToken: '/var/run/secrets/llm-config/vault-token',
} as const;

export const AGENT_HTTP_ADDR = '127.0.0.1:8080';
export const AGENT_ADMIN_PORT = 9102;
export const RUN_AS = 65532;

/** Cluster-wide settings of the webhook that annotations cannot change. */
export type InjectorSettings = {
  readonly agentImage: string;
  readonly initImage: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly tokenAudience: string;
  readonly tokenExpirationSeconds: number;
  readonly centralHeaders: readonly (readonly [string, string])[];
  readonly vault: { readonly address: URL | undefined; readonly authPath: string; readonly tokenAudience: string };
};

type K8s = Record<string, unknown>;
type AgentFlag = keyof typeof agentOptionTable;

/** `--flag=value` pairs; a key that is not an agent flag does not compile. */
function flags(values: Partial<Record<AgentFlag, string | readonly string[] | undefined>>): string[] {
  return Object.entries(values).flatMap(([key, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v: string) => `--${flagName(key)}=${v}`),
  );
}

function sharedFlags(
  model: InjectionModel,
  settings: InjectorSettings,
  fileMode: string,
): Partial<Record<AgentFlag, string | readonly string[]>> {
  return {
    centralUrl: model.centralUrl.href,
    environment: model.environment,
    namespaces: model.namespaces.join(','),
    outputDir: PATHS.files,
    cacheDir: PATHS.run,
    tokenFile: PATHS.token,
    fileMode,
    ...(model.files && { files: JSON.stringify(model.files) }),
    ...(settings.centralHeaders.length > 0 && { centralHeader: settings.centralHeaders.map(([n, v]) => `${n}: ${v}`) }),
    ...(model.vaultSecrets.length > 0 && {
      vaultAddr: settings.vault.address!.href,
      vaultRole: model.vaultRole,
      vaultAuthPath: settings.vault.authPath,
      vaultJwtFile: PATHS.vaultToken,
      vaultSecret: model.vaultSecrets,
    }),
  };
}

const securityContext = (): K8s => ({
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

/** How the injected containers are placed in the pod. */
export type Placement = {
  readonly fileMode: string;
  /** The pod sets spec.resources (pod-level): our containers take none of their own and share its budget. */
  readonly podLevelResources: boolean;
};

/** What the init container and the agent both mount: files and run dirs writable, tokens read-only. */
const ownMounts = (): K8s[] => [
  { name: NAMES.filesVolume, mountPath: PATHS.files },
  { name: NAMES.runVolume, mountPath: PATHS.run },
  { name: NAMES.tokenVolume, mountPath: PATHS.tokenDir, readOnly: true },
];

const resources = (model: InjectionModel, placement: Placement): K8s =>
  placement.podLevelResources
    ? {}
    : {
        resources: {
          requests: { cpu: model.cpuRequest, memory: model.memoryRequest },
          limits: { cpu: model.cpuLimit, memory: model.memoryLimit },
        },
      };

export function initContainer(model: InjectionModel, settings: InjectorSettings, placement: Placement): K8s {
  return {
    name: NAMES.init,
    image: settings.initImage,
    imagePullPolicy: settings.imagePullPolicy,
    args: ['init', ...flags(sharedFlags(model, settings, placement.fileMode))],
    ...resources(model, placement),
    securityContext: securityContext(),
    volumeMounts: ownMounts(),
  };
}

export function agentContainer(model: InjectionModel, settings: InjectorSettings, placement: Placement, native: boolean): K8s {
  const probe = (path: string, extra: K8s) => ({ httpGet: { path, port: AGENT_ADMIN_PORT }, ...extra });
  return {
    name: NAMES.agent,
    image: settings.agentImage,
    imagePullPolicy: settings.imagePullPolicy,
    args: [
      'agent',
      ...flags({
        ...sharedFlags(model, settings, placement.fileMode),
        syncMode: model.syncMode,
        pollInterval: formatDurationMs(model.pollInterval),
        httpAddr: AGENT_HTTP_ADDR,
        socket: PATHS.socket,
        adminAddr: `0.0.0.0:${AGENT_ADMIN_PORT}`,
        reloadUrl: model.reloadUrl?.href,
        reloadProcess: model.reloadProcess,
        reloadSignal: model.reloadProcess ? (model.reloadSignal ?? 'SIGHUP') : undefined,
      }),
    ],
    ...(native && { restartPolicy: 'Always' }),
    ports: [{ name: 'llmc-admin', containerPort: AGENT_ADMIN_PORT, protocol: 'TCP' }],
    // Native sidecars gate the app containers on the startup probe: they start only once the agent serves data.
    ...(native && { startupProbe: probe('/readyz', { periodSeconds: 1, failureThreshold: 120 }) }),
    readinessProbe: probe('/readyz', { periodSeconds: 10 }),
    livenessProbe: probe('/healthz', { periodSeconds: 10, failureThreshold: 3 }),
    ...resources(model, placement),
    securityContext: securityContext(),
    volumeMounts: ownMounts(),
  };
}

export function volumes(model: InjectionModel, settings: InjectorSettings): K8s[] {
  const secrets = model.vaultSecrets.length > 0;
  const token = (audience: string, path: string) => ({
    serviceAccountToken: { audience, expirationSeconds: settings.tokenExpirationSeconds, path },
  });
  return [
    // Secrets are rendered only to memory: a medium-Memory emptyDir never touches the node's disk.
    { name: NAMES.filesVolume, emptyDir: secrets ? { medium: 'Memory' } : {} },
    { name: NAMES.runVolume, emptyDir: {} },
    {
      name: NAMES.tokenVolume,
      projected: {
        sources: [token(settings.tokenAudience, 'token'), ...(secrets ? [token(settings.vault.tokenAudience, 'vault-token')] : [])],
      },
    },
  ];
}

export function appMounts(model: InjectionModel): K8s[] {
  return [
    { name: NAMES.filesVolume, mountPath: model.mountPath, readOnly: true },
    ...(model.mode === 'sidecar' ? [{ name: NAMES.runVolume, mountPath: PATHS.run, readOnly: true }] : []),
  ];
}

export function appEnv(model: InjectionModel): K8s[] {
  if (model.mode !== 'sidecar') return [];
  return [
    { name: 'LLM_CONFIG_URL', value: `http://${AGENT_HTTP_ADDR}` },
    { name: 'LLM_CONFIG_SOCKET', value: PATHS.socket },
  ];
}
