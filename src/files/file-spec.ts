// What to write into the output directory. By default one `<namespace>.json` per
// synced namespace; `--files` (JSON, or @path to a JSON/YAML file) replaces that with
// named files: a whole namespace or one key, in a format or through a template.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { FileSpecError, InvalidSettingError } from '../errors.ts';
import { isPlainFileName } from './atomic-writer.ts';
import type * as FormatTemplate from './format-template.ts';
import type { CompiledTemplate } from './format-template.ts';

export const FILE_FORMATS = ['json', 'yaml', 'env', 'properties', 'raw', 'template'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export type FileSpec = {
  readonly name: string;
  readonly namespace: string;
  /** One key of the namespace, or the whole namespace when absent. */
  readonly key?: string | undefined;
  readonly format: FileFormat;
  readonly mode: number;
  readonly template?: CompiledTemplate | undefined;
  /** env only: put before every variable name (docs/files.md, "Refused names"). */
  readonly prefix?: string | undefined;
  /** env only: allow values with a newline (sh and dotenv read them; line-based readers do not). */
  readonly multiline?: boolean | undefined;
};

export const DEFAULT_FILE_MODE = 0o440;
const FIELDS = new Set(['name', 'source', 'format', 'mode', 'template', 'prefix', 'multiline']);
const BY_EXTENSION: Record<string, FileFormat> = { json: 'json', yaml: 'yaml', yml: 'yaml', env: 'env', properties: 'properties' };

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
      throw new InvalidSettingError(
        '--namespaces',
        `${other},${spec.namespace}`,
        `both namespaces map to the file ${spec.name}; name their files with --files`,
      );
    }
    if (!isPlainFileName(spec.name)) throw new InvalidSettingError('--namespaces', spec.namespace, 'a namespace usable as a file name');
    seen.set(spec.name, spec.namespace);
  }
  return Object.freeze(specs);
}

/** Reads `--files` (inline JSON or @path) and checks every entry against the synced namespaces. */
export async function loadFileSpecs(text: string, namespaces: readonly string[], defaultMode: number): Promise<readonly FileSpec[]> {
  const fail = (accepted: string): never => {
    throw new InvalidSettingError('--files', text.length > 80 ? `${text.slice(0, 77)}...` : text, accepted);
  };
  let doc: unknown;
  if (text.startsWith('@')) {
    const path = text.slice(1);
    const content = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => fail(`a readable file (${error.code})`));
    try {
      // YAML is a superset of JSON. The parser (~10 MiB of RSS) loads only for @path.
      doc = (await import('yaml')).parse(content);
    } catch (error) {
      fail(`JSON or YAML (${(error as Error).message.split('\n')[0]})`);
    }
  } else {
    try {
      doc = JSON.parse(text);
    } catch {
      fail('a JSON array of files, e.g. [{"name":"app.env","source":"ml-service","format":"env"}], or @path to a JSON/YAML file');
    }
  }
  return parseFileSpecDocument(doc, namespaces, defaultMode, fail);
}

/** Checks a parsed --files document (an array of entries) against the synced namespaces. */
export function parseFileSpecDocument(
  doc: unknown,
  namespaces: readonly string[],
  defaultMode: number,
  fail: (accepted: string) => never,
): readonly FileSpec[] {
  if (!Array.isArray(doc) || doc.length === 0) fail('a non-empty array of files');
  const specs = (doc as unknown[]).map((entry, i) => {
    try {
      return parseFileEntry(entry, namespaces, defaultMode);
    } catch (error) {
      const name = typeof (entry as { name?: unknown })?.name === 'string' ? ` ("${(entry as { name: string }).name}")` : '';
      return fail(`entry ${i + 1}${name}: ${(error as Error).message}`);
    }
  });
  const names = new Set<string>();
  for (const spec of specs) {
    if (names.has(spec.name)) fail(`two files are named "${spec.name}"`);
    names.add(spec.name);
  }
  return Object.freeze(specs);
}

/** One entry; throws FileSpecError whose `field` names what is wrong (the webhook maps it to an annotation). */
export function parseFileEntry(entry: unknown, namespaces: readonly string[], defaultMode: number): FileSpec {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new FileSpecError('entry', 'must be an object');
  const record = entry as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) throw new FileSpecError('entry', `unknown field "${unknown[0]}" (fields: ${[...FIELDS].join(', ')})`);
  const { name, source, format, mode, template, prefix, multiline } = record;
  if (typeof name !== 'string' || !isPlainFileName(name)) {
    throw new FileSpecError('name', 'name must be a plain file name: no "/", no leading ".", at most 255 bytes');
  }
  if (typeof source !== 'string') throw new FileSpecError('source', 'source must be "namespace" or "namespace/key"');
  const { namespace, key } = resolveSource(source, namespaces);
  if (template !== undefined && typeof template !== 'string') throw new FileSpecError('template', 'template must be a string');
  if (template !== undefined && format !== undefined && format !== 'template')
    throw new FileSpecError('format', 'give either a format or a template, not both');
  const resolved =
    template !== undefined ? 'template' : (format ?? BY_EXTENSION[name.split('.').pop()!.toLowerCase()] ?? (key ? 'raw' : 'json'));
  if (!FILE_FORMATS.includes(resolved as FileFormat) || (resolved === 'template' && template === undefined)) {
    throw new FileSpecError('format', `format "${String(resolved)}" is not one of json, yaml, env, properties, raw (or give a template)`);
  }
  return {
    name,
    namespace,
    key,
    format: resolved as FileFormat,
    mode: parseMode(mode, defaultMode),
    template: template === undefined ? undefined : compileField(template),
    ...envOptions(resolved as FileFormat, prefix, multiline),
  };
}

/** `prefix` and `multiline`, which only the env format has. Annotations give strings, so "true"/"false" count. */
function envOptions(format: FileFormat, prefix: unknown, multiline: unknown): Pick<FileSpec, 'prefix' | 'multiline'> {
  if (prefix !== undefined && format !== 'env') throw new FileSpecError('prefix', 'prefix applies to the env format only');
  if (multiline !== undefined && format !== 'env') throw new FileSpecError('multiline', 'multiline applies to the env format only');
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(prefix)))
    throw new FileSpecError(
      'prefix',
      'prefix must be a variable name start such as "APP_": letters, digits and _, not starting with a digit',
    );
  if (multiline !== undefined && ![true, false, 'true', 'false'].includes(multiline as string))
    throw new FileSpecError('multiline', 'multiline must be true or false');
  return {
    ...(prefix === undefined ? {} : { prefix: prefix as string }),
    ...(multiline === undefined ? {} : { multiline: multiline === true || multiline === 'true' }),
  };
}

// Handlebars (with source-map and yaml) loads with the first template, synchronously
// (require of an ES module, Node ≥ 22.12): most pods have no template, and parseFileEntry
// stays synchronous for the webhook.
const require = createRequire(import.meta.url);

function compileField(template: string): CompiledTemplate {
  try {
    return (require('./format-template.ts') as typeof FormatTemplate).compileTemplate(template);
  } catch (error) {
    throw new FileSpecError('template', (error as Error).message, { cause: error });
  }
}

/** "team/ml/owner" with namespace "team/ml" synced → that namespace, key "owner". Longest namespace wins. */
function resolveSource(source: string, namespaces: readonly string[]): { namespace: string; key: string | undefined } {
  if (namespaces.includes(source)) return { namespace: source, key: undefined };
  const owner = [...namespaces].sort((a, b) => b.length - a.length).find((ns) => source.startsWith(`${ns}/`));
  if (owner === undefined || source.length === owner.length + 1) {
    throw new FileSpecError('source', `source "${source}" is not a synced namespace or namespace/key (synced: ${namespaces.join(', ')})`);
  }
  return { namespace: owner, key: source.slice(owner.length + 1) };
}

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

/**
 * Checked once at start, against `--readable-by`. A mode without owner read (`0200`) is
 * refused: the agent (the owner) could not read it back, and with `group` no app could
 * either. With `group`, a mode without group read (`0400`) is honoured but warned about,
 * once: only the agent's uid can read that file (docs/files.md). `all` adds read for
 * everyone, so it needs no warning. Returns `specs`.
 */
export function checkFileModes(
  specs: readonly FileSpec[],
  readableBy: 'group' | 'all',
  setting: '--files' | '--file-mode',
  logger: { warn(fields: object, message: string): void },
): readonly FileSpec[] {
  for (const spec of specs) {
    if ((spec.mode & 0o400) === 0) {
      throw new InvalidSettingError(
        setting,
        `${spec.name}: ${octal(spec.mode)}`,
        `a mode with owner read (0400 set), such as "0440": without it not even the agent can read the file "${spec.name}"`,
      );
    }
  }
  const ownerOnly = specs.filter((spec) => (spec.mode & 0o040) === 0);
  if (readableBy === 'group' && ownerOnly.length > 0) {
    logger.warn(
      { files: ownerOnly.map((spec) => `${spec.name} ${octal(spec.mode)}`) },
      'file modes without group read: with --readable-by group only the agent uid can read these files; give "0440" for the app to read them',
    );
  }
  return specs;
}

/** Strings only: a bare 0440 in YAML 1.2 or JSON is the decimal number 440, a trap. */
function parseMode(mode: unknown, fallback: number): number {
  if (mode === undefined) return fallback;
  if (typeof mode === 'string' && /^0?[0-7]{3}$/.test(mode)) return Number.parseInt(mode, 8);
  throw new FileSpecError('mode', `mode ${JSON.stringify(mode)} is not an octal file mode in quotes, such as "0440"`);
}
