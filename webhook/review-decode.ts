// An AdmissionReview body → the typed request, and a pod (or pod template) object →
// PodLike, checked field by field for exactly what the mutation reads. The API server
// never sends these shapes wrong, so a wrong one is a caller's bug: HTTP 400 naming
// the field (ReviewDecodeError), never a 500 from deep inside the mutation.

import { ReviewDecodeError } from '../src/errors.ts';

type Named = { name: string };
type Container = Named & {
  env?: Named[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  ports?: Array<{ containerPort: number; protocol?: string }>;
  securityContext?: { runAsUser?: number };
};
/** The parts of a pod (or pod template) the mutation reads: exactly what checkPodShape checks. */
export type PodLike = {
  metadata?: { annotations?: Record<string, string>; namespace?: string; name?: string };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    volumes?: Named[];
    securityContext?: { fsGroup?: number; runAsUser?: number };
    resources?: object;
    shareProcessNamespace?: boolean;
    hostNetwork?: boolean;
  };
  status?: { phase?: string };
};

export type AdmissionRequest = {
  readonly uid: string;
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly operation: string;
  readonly object: unknown;
  readonly oldObject: unknown;
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(field: string, expected: string): never {
  throw new ReviewDecodeError(`${field}: ${expected}`);
}

export function decodeReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw new ReviewDecodeError('body is not a JSON object');
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
    throw new ReviewDecodeError(
      `expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got ${String(body.apiVersion)} ${String(body.kind)}`,
    );
  }
  const request = body.request;
  if (!isObject(request) || typeof request.uid !== 'string' || request.uid === '') throw new ReviewDecodeError('request.uid is missing');
  const kind = request.kind === undefined ? {} : request.kind;
  if (!isObject(kind) || (kind.kind !== undefined && typeof kind.kind !== 'string')) fail('request.kind', 'a GroupVersionKind object');
  for (const field of ['namespace', 'operation'] as const)
    if (request[field] !== undefined && typeof request[field] !== 'string') fail(`request.${field}`, 'a string');
  return {
    uid: request.uid,
    kind: (kind.kind as string | undefined) ?? 'Pod',
    namespace: request.namespace as string | undefined,
    operation: (request.operation as string | undefined) ?? 'CREATE',
    object: request.object,
    oldObject: request.oldObject,
  };
}

function checkArray(value: unknown, field: string, each: (item: Json, field: string) => void): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) fail(field, 'an array or absent');
  value.forEach((item, i) => {
    if (!isObject(item)) fail(`${field}[${i}]`, 'an object');
    each(item, `${field}[${i}]`);
  });
}

function checkString(object: Json, key: string, field: string, required: boolean): void {
  const value = object[key];
  if (value === undefined && !required) return;
  if (typeof value !== 'string') fail(`${field}.${key}`, required ? 'a string (required)' : 'a string or absent');
}

function checkOptionalObject(object: Json, key: string, field: string): void {
  if (object[key] !== undefined && !isObject(object[key])) fail(`${field}.${key}`, 'an object or absent');
}

function checkContainer(container: Json, field: string): void {
  checkString(container, 'name', field, true);
  checkArray(container.env, `${field}.env`, (env, at) => checkString(env, 'name', at, true));
  checkArray(container.volumeMounts, `${field}.volumeMounts`, (mount, at) => {
    checkString(mount, 'name', at, true);
    checkString(mount, 'mountPath', at, true);
  });
  checkOptionalObject(container, 'securityContext', field);
  checkArray(container.ports, `${field}.ports`, (port, at) => {
    if (!Number.isInteger(port.containerPort)) fail(`${at}.containerPort`, 'an integer (required)');
    checkString(port, 'protocol', at, false);
  });
}

/** `at` is where the object sits in the review, e.g. "request.object" or "request.object.spec.template". */
export function checkPodShape(object: unknown, at: string): PodLike {
  if (!isObject(object)) fail(at, 'an object');
  const metadata = object.metadata ?? {};
  if (!isObject(metadata)) fail(`${at}.metadata`, 'an object or absent');
  for (const key of ['annotations', 'labels'] as const) {
    const map = metadata[key];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) fail(`${at}.metadata.${key}`, 'an object of string values');
    for (const [name, value] of Object.entries(map))
      if (typeof value !== 'string') fail(`${at}.metadata.${key}[${JSON.stringify(name)}]`, `a string, not ${typeof value}`);
  }
  const spec = object.spec;
  if (!isObject(spec)) fail(`${at}.spec`, 'an object');
  if (!Array.isArray(spec.containers)) fail(`${at}.spec.containers`, 'an array of containers');
  checkArray(spec.containers, `${at}.spec.containers`, checkContainer);
  checkArray(spec.initContainers, `${at}.spec.initContainers`, checkContainer);
  checkArray(spec.volumes, `${at}.spec.volumes`, (volume, field) => checkString(volume, 'name', field, true));
  checkOptionalObject(spec, 'securityContext', `${at}.spec`);
  checkOptionalObject(object, 'status', at);
  return object as unknown as PodLike;
}
