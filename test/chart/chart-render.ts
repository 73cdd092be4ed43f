// Renders the chart with the real `helm` and checks every object against the Kubernetes
// schemas: kubernetes-models (and its cert-manager and prometheus-operator sets) for
// types and required fields; its validate() accepts unknown fields, so built-in kinds
// are also round-tripped through @kubernetes/client-node's generated serializer, which
// keeps only the fields the API defines: anything it drops is an unknown field.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { helm, type RunResult } from '../helpers/helm.ts';

/** LLM_CONFIG_TEST_CHART: another copy of the chart (e.g. the last commit's, to see these tests fail on it). */
export const CHART = process.env.LLM_CONFIG_TEST_CHART ?? join(import.meta.dirname, '..', '..', 'charts', 'llm-config-injector');

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
};

/** A private Helm home for a test file, removed with `dispose`. */
export function helmHome(): { home: string; dispose: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'llmc-helm-'));
  return { home, dispose: () => rmSync(home, { recursive: true, force: true }) };
}

export type Rendered = { result: RunResult; objects: K8sObject[] };

/** `helm template` → parsed objects. A YAML error is a test failure, never skipped. */
export async function renderChart(
  home: string,
  args: readonly string[],
  release = 'llm-config',
  namespace = 'llm-config',
): Promise<Rendered> {
  const result = await helm(['template', release, CHART, '--namespace', namespace, '--include-crds', ...args], { home });
  const objects: K8sObject[] = [];
  if (result.code !== 0) return { result, objects };
  for (const document of parseAllDocuments(result.stdout)) {
    if (document.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${document.errors.map((e) => e.message).join('; ')}`);
    const object = document.toJS() as K8sObject | null;
    if (object !== null) objects.push(object);
  }
  return { result, objects };
}

/** NOTES.txt as `helm install` prints it (a client-side dry run: no cluster). */
export async function renderNotes(
  home: string,
  args: readonly string[],
  release = 'llm-config',
  namespace = 'llm-config',
): Promise<string> {
  const result = await helm(['install', release, CHART, '--namespace', namespace, '--dry-run=client', ...args], { home });
  if (result.code !== 0) throw new Error(`helm install --dry-run=client failed: ${result.stderr}`);
  return result.stdout.split('NOTES:\n')[1] ?? '';
}

/** Runs `helm lint --strict` with the same arguments. */
export function lintChart(home: string, args: readonly string[]): Promise<RunResult> {
  return helm(['lint', '--strict', CHART, ...args], { home });
}

const MODEL_PACKAGES: Record<string, string> = {
  'cert-manager.io': '@kubernetes-models/cert-manager/cert-manager.io',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator/monitoring.coreos.com',
};

async function modelFor(apiVersion: string, kind: string): Promise<{ new (data: unknown): { validate(): void } } | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const base = MODEL_PACKAGES[group!] ?? (group ? `kubernetes-models/${group === 'apps' ? 'apps' : group}` : 'kubernetes-models');
  const module = (await import(`${base}/${version}`)) as Record<string, any>;
  return module[kind];
}

/** JSON pointers of fields in `original` that `known` does not have. */
function droppedFields(original: unknown, known: unknown, path = ''): string[] {
  if (Array.isArray(original))
    return original.flatMap((item, i) => droppedFields(item, Array.isArray(known) ? known[i] : undefined, `${path}/${i}`));
  if (original === null || typeof original !== 'object') return [];
  const knownObject = (known ?? {}) as Record<string, unknown>;
  return Object.entries(original).flatMap(([key, value]) =>
    key in knownObject ? droppedFields(value, knownObject[key], `${path}/${key}`) : [`${path}/${key}`],
  );
}

/** Maps (labels, annotations, data, nodeSelector…) are free-form: the serializer keeps them whole. */
function unknownFields(object: K8sObject): string[] {
  if (MODEL_PACKAGES[object.apiVersion.split('/')[0]!]) return [];
  const type = `${(object.apiVersion.split('/').at(-1) ?? '').replace(/^v/, 'V')}${object.kind}`;
  const roundTrip = ObjectSerializer.serialize(ObjectSerializer.deserialize(structuredClone(object), type, ''), type, '');
  if (roundTrip === undefined || Object.keys(roundTrip).length <= 2) throw new Error(`no serializer type ${type} for ${object.kind}`);
  return droppedFields(object, roundTrip);
}

/** Every problem with one rendered object: schema errors and unknown fields. */
export async function objectProblems(object: K8sObject): Promise<string[]> {
  const where = `${object.kind}/${object.metadata?.name}`;
  const Model = await modelFor(object.apiVersion, object.kind);
  if (!Model) return [`${where}: no Kubernetes schema for ${object.apiVersion} ${object.kind}`];
  const problems: string[] = [];
  try {
    new Model(object).validate();
  } catch (error) {
    problems.push(`${where}: ${(error as Error).message}`);
  }
  for (const field of unknownFields(object)) problems.push(`${where}: unknown field ${field}`);
  return problems;
}

/** Runs `task` over `items` with at most `width` at once (helm is a process each). */
export async function pool<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

export const find = (objects: readonly K8sObject[], kind: string, name?: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
