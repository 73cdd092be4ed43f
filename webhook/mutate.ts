// The admission logic as a pure function: AdmissionReview in, AdmissionReview out.
// No sockets, no Kubernetes calls (namespace annotations come from the caller's
// cache), so every case is a plain unit test.

import { LlmConfigError, ReviewDecodeError } from '../src/errors.ts';
import { STATUS_ANNOTATION, type Annotations } from './annotations.ts';
import type { InjectorSettings } from './container-specs.ts';
import { buildModel, wantsInjection, type InjectionDefaults } from './injection-model.ts';
import { mutatePod, type PodLike } from './mutate-pod.ts';

export type MutateContext = {
  readonly defaults: InjectionDefaults;
  readonly settings: InjectorSettings;
  readonly namespaceAnnotations: (namespace: string) => Annotations;
};

export type AdmissionRequest = {
  readonly uid: string;
  readonly kind?: { kind?: string };
  readonly namespace?: string;
  readonly operation?: string;
  readonly object: PodLike;
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

const SKIPPED_NAMESPACES = new Set(['kube-system', 'kube-public']);

export function decodeReview(body: unknown): AdmissionRequest {
  const review = body as { apiVersion?: unknown; kind?: unknown; request?: Record<string, unknown> } | null;
  if (typeof review !== 'object' || review === null) throw new ReviewDecodeError('body is not a JSON object');
  if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
    throw new ReviewDecodeError(
      `expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got ${String(review.apiVersion)} ${String(review.kind)}`,
    );
  }
  const request = review.request;
  if (typeof request !== 'object' || request === null || typeof request.uid !== 'string' || request.uid === '') {
    throw new ReviewDecodeError('request.uid is missing');
  }
  const object = request.object as PodLike | undefined;
  if (typeof object !== 'object' || object === null || typeof object.spec !== 'object' || !Array.isArray(object.spec?.containers)) {
    throw new ReviewDecodeError('request.object is not a pod with spec.containers');
  }
  return request as unknown as AdmissionRequest;
}

/** Allowed with a patch, allowed unchanged, or denied with a message naming the annotation. */
export function mutate(body: unknown, context: MutateContext): AdmissionResponse {
  const request = decodeReview(body);
  const reply = (response: Omit<AdmissionResponse['response'], 'uid'>): AdmissionResponse => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: request.uid, ...response },
  });
  const pod = request.object;
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  const podAnnotations = pod.metadata?.annotations ?? {};
  if ((request.kind?.kind ?? 'Pod') !== 'Pod' || (request.operation ?? 'CREATE') !== 'CREATE') return reply({ allowed: true });
  if (SKIPPED_NAMESPACES.has(namespace)) return reply({ allowed: true });
  if (podAnnotations[STATUS_ANNOTATION] === 'injected') return reply({ allowed: true });
  if (pod.status?.phase !== undefined && pod.status.phase !== 'Pending') return reply({ allowed: true });
  const namespaceAnnotations = context.namespaceAnnotations(namespace);
  try {
    if (!wantsInjection(podAnnotations, namespaceAnnotations)) return reply({ allowed: true });
    const model = buildModel(podAnnotations, namespaceAnnotations, context.defaults);
    const { patch, warnings } = mutatePod(pod, model, context.settings);
    return reply({
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
      ...(warnings.length > 0 && { warnings }),
    });
  } catch (error) {
    if (!(error instanceof LlmConfigError)) throw error;
    return reply({ allowed: false, status: { code: 400, message: error.message } });
  }
}
