// The admission logic as a pure function: AdmissionReview in, AdmissionReview out.
// No sockets, no Kubernetes calls (namespace annotations come from the caller's
// cache), so every case is a plain unit test. Dispatches on the request's kind:
// a Pod is mutated; the pod template of a workload is only validated (allowed or
// denied with the same messages and warnings, never a patch), so `kubectl apply` of a
// Deployment with a bad annotation fails at once instead of when its pods are made.

import { isDeepStrictEqual } from 'node:util';
import { InvalidSettingError, LlmConfigError } from '../src/errors.ts';
import { allowedNamespacesFor, firstDisallowed, type NamespaceGlobs } from '../src/access/namespace-globs.ts';
import { PREFIX, STATUS_ANNOTATION, type Annotations } from './annotations.ts';
import type { InjectorSettings } from './container-specs.ts';
import type { InjectionDefaults } from './injection-defaults.ts';
import { buildModel, wantsInjection } from './injection-model.ts';
import type { PatchOperation } from './json-patch.ts';
import { mutatePod, type PodLike } from './mutate-pod.ts';
import { fieldName, templatePath, valueAt } from './pod-templates.ts';
import { checkPodShape, decodeReview } from './review-decode.ts';

export { decodeReview } from './review-decode.ts';

export type MutateContext = {
  readonly defaults: InjectionDefaults;
  readonly settings: InjectorSettings;
  readonly namespaceAnnotations: (namespace: string) => Annotations;
  /** Set when agents read through the relay: its namespace authorization is checked at admission too. */
  readonly relay?: { readonly defaultAllowed: NamespaceGlobs } | undefined;
};

export type AdmissionResponse = {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    patchType?: 'JSONPatch';
    patch?: string;
    status?: { code: number; message: string };
    warnings?: string[];
  };
};

/** What injection means for one pod (or pod template). */
export type PodDecision =
  | { readonly allowed: true; readonly patch?: PatchOperation[]; readonly warnings: string[] }
  | { readonly allowed: false; readonly message: string };

const SKIPPED_NAMESPACES = new Set(['kube-system', 'kube-public']);
const LEFT_ALONE: PodDecision = { allowed: true, warnings: [] };

/** The one decision for a pod and for a template: skipped, patched, or denied with the message. */
export function decidePod(pod: PodLike, namespace: string, context: MutateContext): PodDecision {
  const podAnnotations = pod.metadata?.annotations ?? {};
  if (SKIPPED_NAMESPACES.has(namespace)) return LEFT_ALONE;
  if (podAnnotations[STATUS_ANNOTATION] === 'injected') return LEFT_ALONE;
  if (pod.status?.phase !== undefined && pod.status.phase !== 'Pending') return LEFT_ALONE;
  const namespaceAnnotations = context.namespaceAnnotations(namespace);
  try {
    if (!wantsInjection(podAnnotations, namespaceAnnotations)) return LEFT_ALONE;
    const model = buildModel(podAnnotations, namespaceAnnotations, context.defaults);
    if (context.relay) checkRelayAccess(model.namespaces, namespace, namespaceAnnotations, context.relay.defaultAllowed);
    const { patch, warnings } = mutatePod(pod, model, context.settings);
    return { allowed: true, patch, warnings };
  } catch (error) {
    if (!(error instanceof LlmConfigError)) throw error;
    return { allowed: false, message: error.message };
  }
}

/** The relay would answer 403: say so at `kubectl apply`, naming the annotation and what is allowed. */
function checkRelayAccess(
  namespaces: readonly string[],
  k8sNamespace: string,
  annotations: Annotations,
  defaultAllowed: NamespaceGlobs,
): void {
  const allowed = allowedNamespacesFor(k8sNamespace, annotations, defaultAllowed);
  const denied = firstDisallowed(allowed.globs, namespaces);
  if (denied === undefined) return;
  throw new InvalidSettingError(
    `${PREFIX}namespaces`,
    namespaces.join(','),
    `namespace "${denied}" is not readable by pods of namespace ${k8sNamespace} through the relay (allowed: ${allowed.globs.text}, from ${allowed.source})`,
  );
}

type Reply = Omit<AdmissionResponse['response'], 'uid'>;

function podReply(decision: PodDecision, withPatch: boolean): Reply {
  if (!decision.allowed) return { allowed: false, status: { code: 400, message: decision.message } };
  const warnings = decision.warnings.length > 0 ? { warnings: decision.warnings } : {};
  if (!withPatch || decision.patch === undefined) return { allowed: true, ...warnings };
  return { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(decision.patch)).toString('base64'), ...warnings };
}

function namespaceOf(requestNamespace: string | undefined, object: unknown): string {
  const fromObject = valueAt(object, ['metadata', 'namespace']);
  return requestNamespace ?? (typeof fromObject === 'string' ? fromObject : 'default');
}

/** Allowed with a patch, allowed unchanged, or denied with a message naming the annotation. */
export function mutate(body: unknown, context: MutateContext): AdmissionResponse {
  const request = decodeReview(body);
  const reply = (response: Reply): AdmissionResponse => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: request.uid, ...response },
  });
  const namespace = namespaceOf(request.namespace, request.object);
  if (request.kind === 'Pod') {
    if (request.operation !== 'CREATE') return reply({ allowed: true });
    const pod = checkPodShape(request.object, 'request.object');
    return reply(podReply(decidePod(pod, namespace, context), true));
  }
  const path = templatePath(request.kind);
  if (path === undefined || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return reply({ allowed: true });
  // Being deleted: finalizer updates must never be blocked by what the template says.
  if (valueAt(request.object, ['metadata', 'deletionTimestamp']) !== undefined) return reply({ allowed: true });
  const template = valueAt(request.object, path);
  if (template === undefined) return reply({ allowed: true });
  // An update that leaves the template as it was (scale, labels, status) is not re-judged.
  if (request.operation === 'UPDATE' && isDeepStrictEqual(template, valueAt(request.oldObject, path))) return reply({ allowed: true });
  const pod = checkPodShape(template, fieldName('request.object', path));
  return reply(podReply(decidePod(pod, namespace, context), false));
}
