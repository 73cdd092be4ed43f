// Turns one store view into the bytes of every output file. A file that fails to
// render is reported and left out of the result; the publisher keeps its previous
// content, so one bad file never blocks the others.

import { createRequire } from 'node:module';
import { RenderError } from '../errors.ts';
import type { StoreView } from '../store/config-store.ts';
import type { FilePayload } from './atomic-writer.ts';
import type { FileSpec } from './file-spec.ts';
import { renderEnv } from './format-env.ts';
import { renderProperties } from './format-properties.ts';

// The YAML library (~10 MiB of RSS) loads with the first YAML file rendered: most pods
// write JSON only. Synchronously (require), so rendering stays synchronous.
const require = createRequire(import.meta.url);
const toYaml = (value: unknown): string => (require('./format-yaml.ts') as typeof import('./format-yaml.ts')).toPortableYaml(value);

export type RenderOutcome = { readonly payload: FilePayload; readonly errors: readonly RenderError[] };

/** Object of key → value with keys sorted, so identical data gives identical bytes. */
export function namespaceObject(view: StoreView, namespace: string): Record<string, unknown> {
  const data = view.namespaces.get(namespace);
  const out: Record<string, unknown> = {};
  if (data === undefined) return out;
  for (const key of [...data.keys()].sort()) {
    Object.defineProperty(out, key, { value: data.get(key)!.value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function sourceValue(view: StoreView, spec: FileSpec): unknown {
  if (spec.key === undefined) return namespaceObject(view, spec.namespace);
  const entry = view.namespaces.get(spec.namespace)?.get(spec.key);
  if (entry === undefined) throw new RenderError(spec.name, `key "${spec.key}" is not in namespace "${spec.namespace}"`);
  return entry.value;
}

function renderOne(view: StoreView, spec: FileSpec): string {
  const value = sourceValue(view, spec);
  switch (spec.format) {
    case 'json':
      return `${JSON.stringify(value, null, 2)}\n`;
    case 'yaml':
      return toYaml(value);
    case 'env':
      return renderEnv(spec.name, value, { prefix: spec.prefix, multiline: spec.multiline });
    case 'properties':
      return renderProperties(value);
    case 'raw':
      return typeof value === 'string' ? value : `${JSON.stringify(value)}\n`;
    case 'template':
      // A whole namespace is the context as is; one key's object value too; a scalar is {{value}}.
      return spec.template!(typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { value }, spec.name);
  }
}

function errorClass(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

export function renderFiles(view: StoreView, specs: readonly FileSpec[]): RenderOutcome {
  const payload = new Map<string, { content: string; mode: number }>();
  const errors: RenderError[] = [];
  for (const spec of specs) {
    try {
      payload.set(spec.name, { content: renderOne(view, spec), mode: spec.mode });
    } catch (error) {
      // Our renderers throw RenderError with messages that name keys and positions only; a
      // foreign error's message may quote the data it failed on, so only its class is kept.
      errors.push(
        error instanceof RenderError ? error : new RenderError(spec.name, `${spec.format} rendering failed (${errorClass(error)})`),
      );
    }
  }
  return { payload, errors };
}
