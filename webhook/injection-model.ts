// Annotations → the typed injection model. Pure: no I/O, no Kubernetes calls; the
// namespace's annotations are passed in by the caller (from the informer cache).

import { InvalidSettingError } from '../src/errors.ts';
import { boolean, quantityValue } from '../src/options/parsers.ts';
import { ANNOTATIONS, PREFIX, readAnnotation, unknownAnnotations, type Annotations } from './annotations.ts';
import type { Parser } from '../src/options/parsers.ts';
import { checkFileEntries, filesFromAnnotations, type FileEntry } from './file-annotations.ts';
import type { InjectionDefaults } from './injection-defaults.ts';
import { clashesWithRunDirectory, PATHS } from './pod-layout.ts';
import { vaultSecretsFromAnnotations } from './vault-annotations.ts';

export type { InjectionDefaults } from './injection-defaults.ts';

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
  for (const rule of MODEL_RULES) rule(model, { pod, namespace });
  const vaultSecrets = vaultSecretsFromAnnotations(pod, namespace, model.vaultRole);
  const files = filesFromAnnotations(pod, namespace);
  if (files) checkFileEntries(files, vaultSecrets.length > 0 ? [...model.namespaces, 'vault'] : model.namespaces);
  return { ...model, namespaces: model.namespaces, centralUrl: model.centralUrl, files, vaultSecrets };
}

/** What a rule sees besides the model: the annotations it came from, to name the right one. */
export type RuleInput = { readonly pod: Annotations; readonly namespace: Annotations };
/** A rule across settings; throws InvalidSettingError naming the annotation. Add one here to refuse more. */
export type ModelRule = (model: Omit<InjectionModel, 'files' | 'vaultSecrets'>, input: RuleInput) => void;

/** The annotation's raw value where one is set, else the webhook default's flag: errors name what the user can change. */
function origin(name: string, { pod, namespace }: RuleInput, fallbackFlag: string, value: string): [string, string] {
  const raw = pod[`${PREFIX}${name}`] ?? namespace[`${PREFIX}${name}`];
  return raw === undefined ? [fallbackFlag, value] : [`${PREFIX}${name}`, raw];
}

/** The files must not be mounted at, inside or above a path the injection mounts into app containers. */
const mountPathRule: ModelRule = (model, input) => {
  const reserved = PATHS.run;
  if (!clashesWithRunDirectory(model.mountPath)) return;
  const [setting, value] = origin('mount-path', input, '--mount-path', model.mountPath);
  throw new InvalidSettingError(
    setting,
    value,
    `an absolute path that is not ${reserved}, inside it, or above it: the agent's socket and cache are mounted there`,
  );
};

/** Request above limit: blame what the user set (the limit when only the limit was set, else the request). */
const resourcesRule: ModelRule = (model, { pod, namespace }) => {
  const set = (name: string) => pod[`${PREFIX}${name}`] !== undefined || namespace[`${PREFIX}${name}`] !== undefined;
  for (const [resource, request, limit] of [
    ['cpu', model.cpuRequest, model.cpuLimit],
    ['memory', model.memoryRequest, model.memoryLimit],
  ] as const) {
    if (quantityValue(request) <= quantityValue(limit)) continue;
    if (set(`${resource}-limit`) && !set(`${resource}-request`)) {
      throw new InvalidSettingError(`${PREFIX}${resource}-limit`, limit, `at least the ${resource} request (${request})`);
    }
    throw new InvalidSettingError(`${PREFIX}${resource}-request`, request, `at most the ${resource} limit (${limit})`);
  }
};

const reloadRule: ModelRule = (model, { pod, namespace }) => {
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
};

const portsRule: ModelRule = (model, input) => {
  if (model.httpPort !== model.adminPort) return;
  const [setting, value] = origin('http-port', input, `${PREFIX}admin-port`, String(model.httpPort));
  const other = setting.endsWith('http-port') ? 'admin port' : 'local API port (http-port)';
  throw new InvalidSettingError(setting, value, `a port other than the agent's ${other} (${model.httpPort})`);
};

export const MODEL_RULES: readonly ModelRule[] = [resourcesRule, reloadRule, mountPathRule, portsRule];
