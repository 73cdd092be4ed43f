// What to write into the output directory. The default is one `<namespace>.json` per
// synced namespace; `--files` (issue: rendered files) replaces it with named files.

import { InvalidSettingError } from '../errors.ts';
import { isPlainFileName } from './atomic-writer.ts';

export const FILE_FORMATS = ['json'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export type FileSpec = {
  readonly name: string;
  readonly namespace: string;
  /** One key of the namespace, or the whole namespace when absent. */
  readonly key?: string | undefined;
  readonly format: FileFormat;
  readonly mode: number;
};

export const DEFAULT_FILE_MODE = 0o440;

/** `team/ml` → `team.ml.json`: file names are flat, so namespace levels become dots. */
export function defaultFileName(namespace: string): string {
  return `${namespace.replaceAll('/', '.')}.json`;
}

export function defaultFileSpecs(namespaces: readonly string[], mode = DEFAULT_FILE_MODE): readonly FileSpec[] {
  const specs = namespaces.map((namespace) => ({ name: defaultFileName(namespace), namespace, format: 'json' as const, mode }));
  const seen = new Map<string, string>();
  for (const spec of specs) {
    const other = seen.get(spec.name);
    if (other !== undefined) {
      throw new InvalidSettingError('--namespaces', `${other},${spec.namespace}`,
        `both namespaces map to the file ${spec.name}; name their files with --files`);
    }
    if (!isPlainFileName(spec.name)) throw new InvalidSettingError('--namespaces', spec.namespace, 'a namespace usable as a file name');
    seen.set(spec.name, spec.namespace);
  }
  return Object.freeze(specs);
}
