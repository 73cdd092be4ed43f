// Which central namespaces a pod may read: the value of the Kubernetes namespace
// annotation config.llm-dev-ops.io/allowed-namespaces (relay authorization, and the
// webhook's admission check). A comma list of names, `*` (everything), or prefix
// globs such as `team/*` (everything below `team/`). "-" or an empty list: nothing.

import { InvalidValueError } from '../errors.ts';
import { isNamespaceName } from '../options/parsers.ts';

export type NamespaceGlobs = {
  readonly text: string;
  readonly all: boolean;
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
};

export const ALLOWED_NAMESPACES_ANNOTATION = 'config.llm-dev-ops.io/allowed-namespaces';

export function parseNamespaceGlobs(raw: string): NamespaceGlobs {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '-');
  const exact = new Set<string>();
  const prefixes: string[] = [];
  let all = false;
  for (const item of items) {
    if (item === '*') all = true;
    else if (item.endsWith('/*') && isNamespaceName(item.slice(0, -2))) prefixes.push(item.slice(0, -1));
    else if (isNamespaceName(item)) exact.add(item);
    else
      throw new InvalidValueError(
        `"${item}" is not a namespace or glob (a namespace name, "*", or a prefix such as "team/*"; "-" for none; comma-separated)`,
      );
  }
  return Object.freeze({ text: items.join(',') || '-', all, exact, prefixes: Object.freeze(prefixes) });
}

export function globsAllow(globs: NamespaceGlobs, namespace: string): boolean {
  return globs.all || globs.exact.has(namespace) || globs.prefixes.some((prefix) => namespace.startsWith(prefix));
}

/** The first of `namespaces` the globs do not allow, if any. */
export function firstDisallowed(globs: NamespaceGlobs, namespaces: readonly string[]): string | undefined {
  return namespaces.find((ns) => !globsAllow(globs, ns));
}

export type AllowedNamespaces = { readonly globs: NamespaceGlobs; readonly source: string; readonly invalid?: string };

/**
 * What pods of Kubernetes namespace `k8sNamespace` may read: its allowed-namespaces
 * annotation, else `defaultAllowed`. A broken annotation allows nothing (fail closed).
 * Used by the relay at request time and by the webhook at admission, so both agree.
 */
export function allowedNamespacesFor(
  k8sNamespace: string,
  annotations: Readonly<Record<string, string>>,
  defaultAllowed: NamespaceGlobs,
): AllowedNamespaces {
  const raw = annotations[ALLOWED_NAMESPACES_ANNOTATION];
  if (raw === undefined) return { globs: defaultAllowed, source: 'the relay default (--default-allowed)' };
  const source = `annotation ${ALLOWED_NAMESPACES_ANNOTATION} of namespace ${k8sNamespace}`;
  try {
    return { globs: parseNamespaceGlobs(raw), source };
  } catch (error) {
    const invalid = (error as Error).message;
    return { globs: parseNamespaceGlobs('-'), source: `${source} (invalid, so nothing: ${invalid})`, invalid };
  }
}
