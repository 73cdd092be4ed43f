// Where each workload kind keeps its pod template. One table for both users: the
// webhook validates templates at admission (no patch), `inject` mutates them.

export const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** The pod template path of a workload kind; undefined for a Pod and for kinds we do not know. */
export function templatePath(kind: string): readonly string[] | undefined {
  return Object.hasOwn(TEMPLATE_PATHS, kind) ? TEMPLATE_PATHS[kind] : undefined;
}

/** The value at `path` inside `object` (array steps by index), or undefined where a step is missing. */
export function valueAt(object: unknown, path: readonly (string | number)[]): unknown {
  let current = object;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** "request.object" + ['spec', 'template'] → "request.object.spec.template": names the field in errors. */
export const fieldName = (at: string, path: readonly string[]): string => [at, ...path].join('.');
