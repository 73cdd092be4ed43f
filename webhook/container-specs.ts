// Injection model → the Kubernetes objects to add: init container, agent, volumes,
// app mounts and env. Agent and init flags are written from the programs' own option
// tables (flagName of each key), so a renamed flag breaks the type check, not a pod.

import { flagName } from '../src/options/define.ts';
import { formatDurationMs } from '../src/durations.ts';
import type { agentOptionTable } from '../agent/agent-options.ts';
import type { InjectionModel } from './injection-model.ts';
import type { InjectorSettings } from './injection-defaults.ts';

export type { InjectorSettings } from './injection-defaults.ts';
import { AGENT_HTTP_HOST, NAMES, PATHS, RUN_AS } from './pod-layout.ts';
import { heapFlagFor } from './node-options.ts';

export { NAMES, PATHS, RUN_AS } from './pod-layout.ts';

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
  placement: Placement,
): Partial<Record<AgentFlag, string | readonly string[]>> {
  return {
    centralUrl: model.centralUrl.href,
    environment: model.environment,
    namespaces: model.namespaces.join(','),
    outputDir: PATHS.files,
    cacheDir: PATHS.run,
    tokenFile: PATHS.token,
    fileMode: placement.fileMode,
    // "group" is the programs' default: written only when it differs, so pods with fsGroup keep their args.
    ...(placement.readableBy === 'all' && { readableBy: 'all' }),
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
  /** `all` when the pod has no fsGroup: app containers of another uid read through the "other" bits (SPEC §5). */
  readonly readableBy: 'group' | 'all';
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

/** Node's heap cap from the container's own memory limit (node-options.ts, docs/sizing.md). */
const nodeOptions = (model: InjectionModel, placement: Placement): K8s => {
  const flag = placement.podLevelResources ? undefined : heapFlagFor(model.memoryLimit);
  return flag === undefined ? {} : { env: [{ name: 'NODE_OPTIONS', value: flag }] };
};

export function initContainer(model: InjectionModel, settings: InjectorSettings, placement: Placement): K8s {
  return {
    name: NAMES.init,
    image: settings.initImage,
    imagePullPolicy: settings.imagePullPolicy,
    args: ['init', ...flags(sharedFlags(model, settings, placement))],
    ...resources(model, placement),
    ...nodeOptions(model, placement),
    securityContext: securityContext(),
    volumeMounts: ownMounts(),
  };
}

export function agentContainer(model: InjectionModel, settings: InjectorSettings, placement: Placement, native: boolean): K8s {
  const probe = (path: string, extra: K8s) => ({ httpGet: { path, port: model.adminPort }, ...extra });
  return {
    name: NAMES.agent,
    image: settings.agentImage,
    imagePullPolicy: settings.imagePullPolicy,
    args: [
      'agent',
      ...flags({
        ...sharedFlags(model, settings, placement),
        syncMode: model.syncMode,
        pollInterval: formatDurationMs(model.pollInterval),
        httpAddr: `${AGENT_HTTP_HOST}:${model.httpPort}`,
        socket: PATHS.socket,
        adminAddr: `0.0.0.0:${model.adminPort}`,
        reloadUrl: model.reloadUrl?.href,
        reloadProcess: model.reloadProcess,
        reloadSignal: model.reloadProcess ? (model.reloadSignal ?? 'SIGHUP') : undefined,
      }),
    ],
    ...(native && { restartPolicy: 'Always' }),
    ports: [{ name: 'llmc-admin', containerPort: model.adminPort, protocol: 'TCP' }],
    // Native sidecars gate the app containers on the startup probe: they start only once the agent serves data.
    ...(native && { startupProbe: probe('/readyz', { periodSeconds: 1, failureThreshold: 120 }) }),
    readinessProbe: probe('/readyz', { periodSeconds: 10 }),
    livenessProbe: probe('/healthz', { periodSeconds: 10, failureThreshold: 3 }),
    ...resources(model, placement),
    ...nodeOptions(model, placement),
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
    { name: 'LLM_CONFIG_URL', value: `http://${AGENT_HTTP_HOST}:${model.httpPort}` },
    { name: 'LLM_CONFIG_SOCKET', value: PATHS.socket },
  ];
}
