// One pod (or pod template) + the injection model → a minimal JSON Patch. Pure.
// Collisions with what the pod already has are refused, never silently renamed.

import { posix } from 'node:path';
import { InjectionConflictError, InvalidSettingError } from '../src/errors.ts';
import { STATUS_ANNOTATION } from './annotations.ts';
import { NAMES, agentContainer, appEnv, appMounts, initContainer, volumes, type InjectorSettings } from './container-specs.ts';
import type { InjectionModel } from './injection-model.ts';
import { PatchBuilder, type PatchOperation } from './json-patch.ts';
import { readabilityOf, readabilityWarnings } from './readability.ts';
import type { PodLike } from './review-decode.ts';

const normalMountPath = (path: string) => {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
};

export type { PodLike } from './review-decode.ts';

type Container = PodLike['spec']['containers'][number];

export type PodMutation = { readonly patch: PatchOperation[]; readonly warnings: string[] };

export function mutatePod(pod: PodLike, model: InjectionModel, settings: InjectorSettings): PodMutation {
  const spec = pod.spec;
  if (model.vaultSecrets.length > 0 && settings.vault.address === undefined) {
    throw new InvalidSettingError(
      `config.llm-dev-ops.io/vault-secret-${model.vaultSecrets[0]!.split('=')[0]}`,
      model.vaultSecrets[0]!.split('=')[1]!,
      'a webhook with a Vault address (chart value vault.address, flag --vault-addr); none is configured',
    );
  }
  const targets = targetContainers(spec.containers, model);
  checkCollisions(pod, targets, model);
  const warnings = readabilityWarnings(pod, targets, model);
  // Files are group-readable through fsGroup when the pod has one; otherwise readable by the pod's other containers.
  const placement = { ...readabilityOf(pod), podLevelResources: spec.resources !== undefined };
  if (placement.podLevelResources) {
    warnings.push(
      "the pod sets spec.resources (pod-level): llm-config containers get no resources of their own and share the pod's budget; cpu-/memory- annotations do not apply",
    );
  }
  if (model.reloadProcess && !spec.shareProcessNamespace) {
    warnings.push(
      'config.llm-dev-ops.io/reload-process is set but the pod does not set shareProcessNamespace: true; the agent will not see the process',
    );
  }
  if (spec.hostNetwork) {
    warnings.push(
      `hostNetwork: the agent listens on the node's ${'127.0.0.1:8080'} and :9102; two injected hostNetwork pods on one node collide`,
    );
  }

  const patch = new PatchBuilder();
  patch.append('/spec/volumes', spec.volumes, volumes(model, settings));
  targets.forEach((index) => {
    const container = spec.containers[index]!;
    patch.append(`/spec/containers/${index}/volumeMounts`, container.volumeMounts, appMounts(model));
    patch.append(`/spec/containers/${index}/env`, container.env, appEnv(model));
  });
  const native = model.mode === 'sidecar' && model.nativeSidecar;
  const ours = [initContainer(model, settings, placement), ...(native ? [agentContainer(model, settings, placement, true)] : [])];
  if (model.initFirst) patch.prepend('/spec/initContainers', spec.initContainers, ours);
  else patch.append('/spec/initContainers', spec.initContainers, ours);
  if (model.mode === 'sidecar' && !native)
    patch.append('/spec/containers', spec.containers, [agentContainer(model, settings, placement, false)]);
  patch.setKey('/metadata/annotations', pod.metadata?.annotations, STATUS_ANNOTATION, 'injected');
  return { patch: patch.operations, warnings };
}

function targetContainers(containers: Container[], model: InjectionModel): number[] {
  if (model.containers === undefined) return containers.map((_, i) => i);
  return model.containers.map((name) => {
    const index = containers.findIndex((c) => c.name === name);
    if (index === -1) {
      throw new InjectionConflictError(
        `config.llm-dev-ops.io/containers=${model.containers!.join(',')}: no container "${name}" in the pod (containers: ${containers.map((c) => c.name).join(', ')})`,
      );
    }
    return index;
  });
}

function checkCollisions(pod: PodLike, targets: number[], model: InjectionModel): void {
  const { spec } = pod;
  const clash = (what: string) => {
    throw new InjectionConflictError(`cannot inject: ${what} already exists in the pod; rename it or remove config.llm-dev-ops.io/inject`);
  };
  for (const volume of spec.volumes ?? []) if (Object.values(NAMES).includes(volume.name as never)) clash(`volume "${volume.name}"`);
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])])
    if (c.name === NAMES.init || c.name === NAMES.agent) clash(`container "${c.name}"`);
  if (model.mode === 'sidecar') checkPorts(spec, model);
  const envNames = appEnv(model).map((e) => e.name as string);
  const mountPaths = appMounts(model).map((m) => m.mountPath as string);
  for (const index of targets) {
    const container = spec.containers[index]!;
    for (const env of container.env ?? []) if (envNames.includes(env.name)) clash(`env ${env.name} in container "${container.name}"`);
    for (const mount of container.volumeMounts ?? []) {
      // normalised: the API server compares strings, so `/etc//llm-config` would pass it as a second mount
      if (mountPaths.includes(normalMountPath(mount.mountPath))) clash(`a mount at ${mount.mountPath} in container "${container.name}"`);
    }
  }
}

/**
 * The agent listens in the pod's network namespace, shared by every container, and as a
 * native sidecar it starts first: an app declaring the same TCP port would fail to bind.
 * Only declared ports can be seen; hostPort maps a node port and is no clash by itself.
 */
function checkPorts(spec: PodLike['spec'], model: InjectionModel): void {
  const agentPorts = [
    [model.httpPort, `the agent's local API listens (127.0.0.1:${model.httpPort} in the pod's network)`, 'http-port'],
    [model.adminPort, `the agent's admin port listens (probes and metrics, 0.0.0.0:${model.adminPort})`, 'admin-port'],
  ] as const;
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const port of container.ports ?? []) {
      if ((port.protocol ?? 'TCP') !== 'TCP') continue;
      const clash = agentPorts.find(([number]) => number === port.containerPort);
      if (!clash) continue;
      throw new InjectionConflictError(
        `cannot inject: container "${container.name}" declares containerPort ${port.containerPort}, where ${clash[1]}; set config.llm-dev-ops.io/${clash[2]} to a port the pod does not use`,
      );
    }
  }
}
