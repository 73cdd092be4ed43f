// The per-file annotation family → entries of the agent's --files spec:
//   file-<name>: source   file-<name>-format   file-<name>-mode   template-<name>
// Each entry is checked with the agent's own loader, so the webhook refuses exactly
// what the agent would refuse, and names the annotation.

import { InvalidSettingError } from '../src/errors.ts';
import { parseFileSpecDocument } from '../src/files/file-spec.ts';
import { PREFIX, type Annotations } from './annotations.ts';

export type FileEntry = { name: string; source: string; format?: string; mode?: string; template?: string };

const ATTRIBUTE = /^(.+)-(format|mode)$/;

export function filesFromAnnotations(pod: Annotations, namespace: Annotations): FileEntry[] | undefined {
  const merged: Record<string, string> = {};
  for (const source of [namespace, pod]) {
    for (const [k, v] of Object.entries(source))
      if (k.startsWith(`${PREFIX}file-`) || k.startsWith(`${PREFIX}template-`)) merged[k.slice(PREFIX.length)] = v;
  }
  const entries = new Map<string, FileEntry>();
  const attributes: Array<[string, 'format' | 'mode', string]> = [];
  for (const [key, value] of Object.entries(merged)) {
    if (!key.startsWith('file-')) continue;
    const name = key.slice('file-'.length);
    const attribute = ATTRIBUTE.exec(name);
    // "file-app.env-mode" is the mode of file-app.env when that exists; otherwise a file named "app.env-mode".
    if (attribute && merged[`file-${attribute[1]}`] !== undefined)
      attributes.push([attribute[1]!, attribute[2] as 'format' | 'mode', value]);
    else entries.set(name, { name, source: value });
  }
  for (const [name, attribute, value] of attributes) entries.get(name)![attribute] = value;
  for (const [key, value] of Object.entries(merged)) {
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

/** Checks every entry with the agent's own spec parser; the error names the annotation. */
export function checkFileEntries(entries: readonly FileEntry[], namespaces: readonly string[]): void {
  for (const entry of entries) {
    parseFileSpecDocument([entry], namespaces, 0o440, (accepted) => {
      const detail = accepted.replace(/^entry 1 \("[^"]*"\): /, '');
      // Name the annotation the problem is in: the template, the -mode or -format attribute, or the file itself.
      const [annotation, value] =
        entry.template !== undefined && /template/.test(detail)
          ? [`template-${entry.name}`, entry.template]
          : detail.startsWith('mode') && entry.mode !== undefined
            ? [`file-${entry.name}-mode`, entry.mode]
            : detail.startsWith('format') && entry.format !== undefined
              ? [`file-${entry.name}-format`, entry.format]
              : [`file-${entry.name}`, entry.source];
      throw new InvalidSettingError(`${PREFIX}${annotation}`, value, detail);
    });
  }
}
