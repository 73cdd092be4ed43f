// Annotations → the typed injection model. Pure: no I/O, no Kubernetes calls; the
// namespace's annotations are passed in by the caller (from the informer cache).

import type { Environment } from '../src/environments.ts';
import { InvalidSettingError } from '../src/errors.ts';
import { boolean, quantityValue } from '../src/options/parsers.ts';
import { ANNOTATIONS, PREFIX, readAnnotation, unknownAnnotations, type Annotations } from './annotations.ts';
import type { Parser } from '../src/options/parsers.ts';
import { checkFileEntries, filesFromAnnotations, type FileEntry } from './file-annotations.ts';
import { vaultSecretsFromAnnotations } from './vault-annotations.ts';

/** The webhook's defaults for every injected pod (from its flags and the Helm values). */
export type InjectionDefaults = {
  readonly environment: Environment;
  readonly namespaces: readonly string[] | undefined;
  readonly centralUrl: URL | undefined;
  readonly syncMode: 'stream' | 'poll';
  readonly pollInterval: number;
  readonly mode: 'sidecar' | 'init-only';
  readonly initFirst: boolean;
  readonly nativeSidecar: boolean;
  readonly mountPath: string;
  readonly containers: readonly string[] | undefined;
  readonly reloadUrl: URL | undefined;
  readonly reloadSignal: NodeJS.Signals | undefined;
  readonly reloadProcess: string | undefined;
  readonly cpuRequest: string;
  readonly cpuLimit: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
  readonly vaultRole: string | undefined;
};

export type InjectionModel = Omit<InjectionDefaults, 'namespaces' | 'centralUrl'> & {
  readonly namespaces: readonly string[];
  readonly centralUrl: URL;
  readonly files: readonly FileEntry[] | undefined;
  /** `vault-secret-<name>` annotations as agent --vault-secret values (NAME=MOUNT/PATH). */
  readonly vaultSecrets: readonly string[];
};

/** Whether the pod asks for injection (pod annotation, else namespace annotation). */
export function wantsInjection(pod: Annotations, namespace: Annotations): boolean {
  return readAnnotation('inject', boolean, pod, namespace) === true;
}

export function buildModel(pod: Annotations, namespace: Annotations, defaults: InjectionDefaults): InjectionModel {
  const unknown = [...unknownAnnotations(pod), ...unknownAnnotations(namespace)];
  if (unknown.length > 0) {
    throw new InvalidSettingError(
      `${PREFIX}${unknown[0]}`,
      pod[`${PREFIX}${unknown[0]}`] ?? namespace[`${PREFIX}${unknown[0]}`] ?? '',
      `unknown annotation (known: inject, ${Object.keys(ANNOTATIONS).join(', ')}, file-<name>[-format|-mode], template-<name>, vault-secret-<name>)`,
    );
  }
  const values: Record<string, unknown> = { ...defaults };
  for (const [name, row] of Object.entries(ANNOTATIONS)) {
    const value = readAnnotation(name, row.parser as Parser<unknown>, pod, namespace);
    if (value !== undefined) values[row.key] = value;
  }
  const model = values as Omit<InjectionModel, 'files'> & { namespaces: readonly string[] | undefined; centralUrl: URL | undefined };
  if (model.namespaces === undefined)
    throw new InvalidSettingError(`${PREFIX}namespaces`, '', 'required: the central API namespaces to sync, e.g. "ml-service,shared"');
  if (model.centralUrl === undefined)
    throw new InvalidSettingError(`${PREFIX}central-url`, '', 'required: no default central URL is configured on the webhook');
  checkConsistency(model, pod, namespace);
  const vaultSecrets = vaultSecretsFromAnnotations(pod, namespace, model.vaultRole);
  const files = filesFromAnnotations(pod, namespace);
  if (files) checkFileEntries(files, vaultSecrets.length > 0 ? [...model.namespaces, 'vault'] : model.namespaces);
  return { ...model, namespaces: model.namespaces, centralUrl: model.centralUrl, files, vaultSecrets };
}

function checkConsistency(model: Omit<InjectionModel, 'files'>, pod: Annotations, namespace: Annotations): void {
  for (const [resource, request, limit] of [
    ['cpu', model.cpuRequest, model.cpuLimit],
    ['memory', model.memoryRequest, model.memoryLimit],
  ] as const) {
    if (quantityValue(request) > quantityValue(limit)) {
      throw new InvalidSettingError(`${PREFIX}${resource}-request`, request, `at most the ${resource} limit (${limit})`);
    }
  }
  const has = (name: string) => pod[`${PREFIX}${name}`] !== undefined || namespace[`${PREFIX}${name}`] !== undefined;
  if (model.mode === 'init-only') {
    for (const name of ['reload-url', 'reload-process', 'reload-signal']) {
      if (has(name))
        throw new InvalidSettingError(
          `${PREFIX}${name}`,
          pod[`${PREFIX}${name}`] ?? namespace[`${PREFIX}${name}`]!,
          'not with mode: init-only (no agent runs to send it)',
        );
    }
  }
  if (has('reload-signal') && model.reloadProcess === undefined) {
    throw new InvalidSettingError(`${PREFIX}reload-signal`, String(model.reloadSignal), `only together with ${PREFIX}reload-process`);
  }
}
