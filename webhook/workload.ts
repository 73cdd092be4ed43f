// Workload manifests → their pod template, for `llm-config inject`: the same pod-level
// decision the webhook takes at admission, applied to the template.

import fastJsonPatch from 'fast-json-patch';
import type { PatchOperation } from './json-patch.ts';
import type { PodLike } from './mutate-pod.ts';
import { decidePod, type MutateContext } from './mutate.ts';
import { templatePath, valueAt } from './pod-templates.ts';
import { checkPodShape } from './review-decode.ts';

type Manifest = { kind?: unknown; metadata?: { namespace?: unknown } };

export type InjectOutcome = {
  readonly manifest: unknown;
  readonly injected: boolean;
  readonly warnings: string[];
  readonly denied?: string;
  /** Where the pod sits in the manifest ([] for a Pod), and the patch relative to it: to edit the YAML in place. */
  readonly podPath?: readonly string[];
  readonly operations?: readonly PatchOperation[];
};

/** The pod path of a manifest's kind: [] for a Pod, the template path for workloads, undefined for other kinds. */
export function podPathOf(manifest: unknown): readonly string[] | undefined {
  const kind = (manifest as Manifest | null)?.kind;
  if (typeof kind !== 'string') return undefined;
  return kind === 'Pod' ? [] : templatePath(kind);
}

/** Injects into one manifest exactly as the webhook would; other kinds pass through untouched. */
export function injectManifest(manifest: unknown, context: MutateContext): InjectOutcome {
  const path = typeof manifest === 'object' && manifest !== null ? podPathOf(manifest) : undefined;
  const unchanged = { manifest, injected: false, warnings: [] };
  if (path === undefined) return unchanged;
  const template = path.length === 0 ? manifest : valueAt(manifest, path);
  if (valueAt(template, ['spec']) === undefined) return unchanged;
  const where = [(manifest as Manifest).kind as string, ...path].join('.');
  const pod = checkPodShape(template, where);
  const namespace = (manifest as Manifest).metadata?.namespace;
  const decision = decidePod(pod, typeof namespace === 'string' ? namespace : 'default', context);
  if (!decision.allowed) return { ...unchanged, denied: decision.message };
  if (decision.patch === undefined) return { ...unchanged, warnings: decision.warnings };
  const copy = structuredClone(manifest) as Record<string, unknown>;
  const target = (path.length === 0 ? copy : valueAt(copy, path)) as PodLike & Record<string, unknown>;
  target.metadata ??= {}; // the patch sets an annotation: a template without metadata gets one
  fastJsonPatch.applyPatch(target, structuredClone(decision.patch), true, true);
  return { manifest: copy, injected: true, warnings: decision.warnings, podPath: path, operations: decision.patch };
}
