// The pieces the webhook unit tests share: injection options parsed from a central URL,
// the MutateContext built from them, the annotation names, and an AdmissionReview of a
// Pod (uid u-1, CREATE in namespace apps) to hand to mutate().

import type { MutateContext, mutate } from '../../webhook/mutate.ts';
import { parseOptions } from '../../src/options/define.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from '../../webhook/webhook-options.ts';

/** The injection options of a webhook pointed at http://central:8080, everything else default. */
export const injectionOptions = parseOptions(injectionOptionTable, ['--central-url', 'http://central:8080'], {});

/** A MutateContext from the injection options; the Kubernetes namespace carries `namespaceAnnotations`. */
export function mutateContext(namespaceAnnotations: Record<string, string> = {}): MutateContext {
  return {
    defaults: injectionDefaults(injectionOptions),
    settings: injectorSettings(injectionOptions),
    namespaceAnnotations: () => namespaceAnnotations,
  };
}

/** The full name of a pod annotation: `config.llm-dev-ops.io/<name>`. */
export const A = (name: string) => `config.llm-dev-ops.io/${name}`;

/** The annotations that ask for injection of the ml-service namespace. */
export const INJECT_ML_SERVICE = { [A('inject')]: 'true', [A('namespaces')]: 'ml-service' };

/**
 * An AdmissionReview creating Pod `p` in namespace `apps` with `annotations`. Its spec is one
 * container `app` (image `app`) unless `spec` says otherwise (its keys replace or add to
 * that); `extra` adds keys to the Pod object.
 */
export function podReview(annotations: Record<string, string>, spec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-1',
      kind: { kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'apps',
      object: { metadata: { name: 'p', annotations }, spec: { containers: [{ name: 'app', image: 'app' }], ...spec }, ...extra },
    },
  };
}

/** The JSON patch of an allowed admission response, decoded. */
export function patchOf(response: ReturnType<typeof mutate>['response']) {
  return JSON.parse(Buffer.from(response.patch!, 'base64').toString());
}
