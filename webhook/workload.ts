// Workload manifests → their pod template, for `llm-config inject`: the same pod-level
// mutation the webhook applies at admission, applied to the template.

import fastJsonPatch from 'fast-json-patch';
import type { PodLike } from './mutate-pod.ts';
import { mutate, type MutateContext } from './mutate.ts';

type Manifest = { apiVersion?: string; kind?: string; metadata?: { namespace?: string; name?: string }; spec?: Record<string, unknown> };

const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export type InjectOutcome = {
  readonly manifest: unknown;
  readonly injected: boolean;
  readonly warnings: string[];
  readonly denied?: string;
};

/** Injects into one manifest exactly as the webhook would; other kinds pass through untouched. */
export function injectManifest(manifest: unknown, context: MutateContext): InjectOutcome {
  const object = manifest as Manifest;
  const path = object && typeof object === 'object' ? TEMPLATE_PATHS[object.kind ?? ''] : undefined;
  if (path === undefined) return { manifest, injected: false, warnings: [] };
  const copy = structuredClone(object) as Record<string, unknown>;
  const parent = path
    .slice(0, -1)
    .reduce<Record<string, unknown> | undefined>((o, k) => o?.[k] as Record<string, unknown> | undefined, copy);
  const template = (path.length === 0 ? copy : parent?.[path.at(-1)!]) as PodLike | undefined;
  if (!template?.spec) return { manifest, injected: false, warnings: [] };
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'inject-preview',
      kind: { kind: 'Pod' },
      operation: 'CREATE',
      namespace: object.metadata?.namespace ?? 'default',
      object: { metadata: template.metadata ?? {}, spec: template.spec },
    },
  };
  const { response } = mutate(review, context);
  if (!response.allowed) return { manifest, injected: false, warnings: [], denied: response.status?.message };
  if (!response.patch) return { manifest, injected: false, warnings: [] };
  const pod = { metadata: template.metadata ?? {}, spec: template.spec };
  const operations = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
  const patched = fastJsonPatch.applyPatch(pod, operations, true, true).newDocument as PodLike;
  if (path.length === 0) Object.assign(copy, patched);
  else parent![path.at(-1)!] = { ...(template as object), metadata: patched.metadata, spec: patched.spec };
  return { manifest: copy, injected: true, warnings: response.warnings ?? [] };
}
