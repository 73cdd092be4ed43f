// The per-file annotation family → entries of the agent's --files spec:
//   file-<name>: source   file-<name>-format   file-<name>-mode   template-<name>
//   file-<name>-prefix   file-<name>-multiline   (env files only)
// Each entry is checked with the agent's own entry parser, so the webhook refuses
// exactly what the agent would refuse; the parser's error says which field is wrong,
// and that field names the annotation.

import { InvalidSettingError, LlmConfigError, type FileSpecError } from '../src/errors.ts';
import { parseFileEntry } from '../src/files/file-spec.ts';
import { PREFIX, type Annotations } from './annotations.ts';

export type FileEntry = {
  name: string;
  source: string;
  format?: string;
  mode?: string;
  template?: string;
  prefix?: string;
  multiline?: string;
};
type Attribute = 'format' | 'mode' | 'prefix' | 'multiline';

const ATTRIBUTE = /^(.+)-(format|mode|prefix|multiline)$/;

function merged(pod: Annotations, namespace: Annotations): Record<string, string> {
  const result: Record<string, string> = {};
  for (const source of [namespace, pod]) {
    for (const [k, v] of Object.entries(source))
      if (k.startsWith(`${PREFIX}file-`) || k.startsWith(`${PREFIX}template-`)) result[k.slice(PREFIX.length)] = v;
  }
  return result;
}

export function filesFromAnnotations(pod: Annotations, namespace: Annotations): FileEntry[] | undefined {
  const all = merged(pod, namespace);
  const entries = new Map<string, FileEntry>();
  const attributes: Array<[string, Attribute, string]> = [];
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith('file-')) continue;
    const name = key.slice('file-'.length);
    const attribute = ATTRIBUTE.exec(name);
    if (attribute) attributes.push([attribute[1]!, attribute[2] as Attribute, value]);
    else entries.set(name, { name, source: value });
  }
  // "-mode" and "-format" are always attributes: a file cannot be named "x-mode", so a
  // stray attribute is a missing declaration, reported as one.
  for (const [name, attribute, value] of attributes) {
    const entry = entries.get(name);
    if (!entry) {
      throw new InvalidSettingError(
        `${PREFIX}file-${name}-${attribute}`,
        value,
        `a ${attribute} for the file "${name}", which is not declared: add ${PREFIX}file-${name} naming its source (a namespace or namespace/key)`,
      );
    }
    entry[attribute] = value;
  }
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith('template-')) continue;
    const name = key.slice('template-'.length);
    const entry = entries.get(name);
    if (!entry)
      throw new InvalidSettingError(`${PREFIX}${key}`, value, `needs ${PREFIX}file-${name} naming the template's source namespace`);
    entry.template = value;
  }
  if (entries.size === 0) return undefined;
  return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The annotation (and its value) that holds the field the agent's parser refused. */
function annotationOf(entry: FileEntry, field: FileSpecError['field']): [string, string] {
  if (field === 'template' && entry.template !== undefined) return [`template-${entry.name}`, entry.template];
  if (field === 'mode' && entry.mode !== undefined) return [`file-${entry.name}-mode`, entry.mode];
  if (field === 'format' && entry.format !== undefined) return [`file-${entry.name}-format`, entry.format];
  if (field === 'prefix' && entry.prefix !== undefined) return [`file-${entry.name}-prefix`, entry.prefix];
  if (field === 'multiline' && entry.multiline !== undefined) return [`file-${entry.name}-multiline`, entry.multiline];
  return [`file-${entry.name}`, entry.source];
}

/** Checks every entry with the agent's own entry parser; the error names the annotation. */
export function checkFileEntries(entries: readonly FileEntry[], namespaces: readonly string[]): void {
  for (const entry of entries) {
    try {
      parseFileEntry(entry, namespaces, 0o440);
    } catch (error) {
      if (!(error instanceof LlmConfigError) || error.code !== 'LLMC_ERR_FILE_SPEC') throw error;
      const [annotation, value] = annotationOf(entry, (error as FileSpecError).field);
      throw new InvalidSettingError(`${PREFIX}${annotation}`, shortened(value), error.message, { cause: error });
    }
  }
}

/** A template can be 64 KiB: the denial quotes its start, not all of it (the message is shown by kubectl). */
function shortened(value: string): string {
  return value.length <= 120 ? value : `${value.slice(0, 100)}… (${Buffer.byteLength(value)} bytes)`;
}
