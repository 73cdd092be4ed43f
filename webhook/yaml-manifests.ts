// Manifests read and written as kubectl does: YAML 1.1 scalars (sigs.k8s.io/yaml is
// go-yaml v2), so `defaultMode: 0400` is 256 (octal) and `yes` is true, both in what we
// read and in what we write back. Documents that are not changed are copied byte for
// byte; a changed one is edited in place in its syntax tree (comments, anchors, key
// order and number formats kept), and only the patch's own nodes are new.

import { type Document, isAlias, isMap, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { InvalidSettingError } from '../src/errors.ts';
import type { PatchOperation } from './json-patch.ts';
import { valueAt } from './pod-templates.ts';

type Tag = { tag: string; format?: string };

/**
 * go-yaml v2 resolves plain scalars with YAML 1.1 ints (0400 octal, 0x, 0b), floats,
 * booleans (y, yes, on, …) and null, but keeps timestamps and sexagesimal numbers
 * (1:20) as strings; the `yaml` package's 1.1 schema would turn those into Dates and
 * numbers, so they are left out.
 */
const kubectlTags = (tags: Tag[]): Tag[] => tags.filter((t) => t.tag !== 'tag:yaml.org,2002:timestamp' && t.format !== 'TIME');

export const YAML_OPTIONS = Object.freeze({ version: '1.1', customTags: kubectlTags, merge: true } as const);

export type ParsedManifest = {
  readonly document: Document.Parsed;
  /** This document's bytes in the input: every slice together is the whole input. */
  readonly source: string;
};

/** Splits the input into documents, each with its exact source text; `file` names the input in errors. */
export function parseManifests(text: string, file: string): ParsedManifest[] {
  const documents = parseAllDocuments(text, YAML_OPTIONS as never);
  const list = Array.isArray(documents) ? documents : [];
  const bounds = list.map((d, i) => (i === 0 ? 0 : d.range[0]));
  return list.map((document, i) => {
    if (document.errors.length > 0)
      throw new InvalidSettingError('--file', file, `valid YAML (document ${i + 1}: ${document.errors[0]!.message.split('\n')[0]})`);
    return { document, source: text.slice(bounds[i], bounds[i + 1] ?? text.length) };
  });
}

/** The document as plain data, as kubectl would decode it. */
export function manifestValue(parsed: ParsedManifest, file: string, index: number): unknown {
  try {
    return parsed.document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new InvalidSettingError('--file', file, `valid YAML (document ${index + 1}: ${(error as Error).message.split('\n')[0]})`);
  }
}

const unescapeSegment = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');

/** The node at `path`, refusing to go through an alias: an edit there would change every place the anchor is used. */
function nodeAt(document: Document, path: readonly (string | number)[], where: string): unknown {
  let node: unknown = document.contents;
  for (const key of path) {
    if (isAlias(node)) throw aliasError(where);
    if (isMap(node)) node = node.get(key, true);
    else if (isSeq(node)) node = node.get(Number(key), true);
    else return undefined;
  }
  if (isAlias(node)) throw aliasError(where);
  return node;
}

function aliasError(where: string): InvalidSettingError {
  return new InvalidSettingError(
    '--file',
    where,
    'inject edits this place, which comes from a YAML alias or merge key (<<): write it out in full in this document',
  );
}

/**
 * Applies the webhook's JSON Patch (only `add`) to the pod at `podPath` inside the document, in place.
 * `value` is the document as decoded (merge keys resolved): a place that exists there but not in the
 * syntax tree is inherited, and editing it would drop what it inherits.
 */
export function applyPatchToDocument(
  document: Document,
  value: unknown,
  podPath: readonly string[],
  operations: readonly PatchOperation[],
): void {
  for (const operation of operations) {
    const segments = operation.path.split('/').slice(1).map(unescapeSegment);
    const parentPath = [...podPath, ...segments.slice(0, -1)];
    const last = segments.at(-1)!;
    const where = [...parentPath, last].join('.');
    const parent = nodeAt(document, parentPath, where);
    const node = document.createNode(operation.value) as YamlNode;
    if (isSeq(parent)) {
      if (last === '-') parent.items.push(node);
      else parent.items.splice(Number(last), 0, node);
    } else if (isMap(parent) || parent === undefined) {
      // What the patch adds to must be in this document: one inherited through a merge key is not here.
      if (parent === undefined && valueAt(value, parentPath) !== undefined) throw aliasError(where);
      if (/^(-|\d+)$/.test(last)) throw aliasError(where);
      document.setIn([...parentPath, last], node);
    } else {
      throw new InvalidSettingError('--file', where, 'a mapping or a sequence where the pod has one');
    }
  }
}
