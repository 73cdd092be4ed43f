// One poll of every namespace: one list request each, conditional when the server gave
// an ETag, all answers applied as a single revision. A namespace that fails keeps its
// last-known-good data and does not hold back the others.

import { CentralRateLimitedError, describeError } from '../errors.ts';
import type { CentralClient } from '../central/client.ts';
import type { Entry } from '../central/entry.ts';
import type { ConfigStore } from './store.ts';

export type PollOutcome = {
  readonly succeeded: readonly string[];
  readonly failed: ReadonlyMap<string, unknown>;
  readonly changed: number;
};

export async function pollAllNamespaces(
  client: CentralClient,
  store: ConfigStore,
  namespaces: readonly string[],
  etags: Map<string, string>,
  signal?: AbortSignal,
): Promise<PollOutcome> {
  const fetched = new Map<string, readonly Entry[]>();
  const failed = new Map<string, unknown>();
  const succeeded: string[] = [];
  const newEtags = new Map<string, string | undefined>();
  await Promise.all(
    namespaces.map(async (namespace) => {
      try {
        const result = await client.listNamespace(namespace, etags.get(namespace), signal);
        succeeded.push(namespace);
        if (result.kind === 'entries') {
          fetched.set(namespace, result.entries);
          newEtags.set(namespace, result.etag);
        }
      } catch (error) {
        if (signal?.aborted) throw error;
        failed.set(namespace, error);
      }
    }),
  );
  const changes = store.replaceNamespaces(fetched);
  // ETags move only after their data is applied, so a crash never pairs new tags with old data.
  for (const [namespace, etag] of newEtags) {
    if (etag === undefined) etags.delete(namespace);
    else etags.set(namespace, etag);
  }
  if (succeeded.length > 0) store.markLoaded();
  return { succeeded, failed, changed: changes.length };
}

/** The error that should drive backoff after a cycle, if any: rate limits first, then a total failure. */
export function cycleFailure(outcome: PollOutcome): unknown {
  for (const error of outcome.failed.values()) if (error instanceof CentralRateLimitedError) return error;
  if (outcome.succeeded.length === 0 && outcome.failed.size > 0) return outcome.failed.values().next().value;
  return undefined;
}

export function describeFailures(outcome: PollOutcome): Record<string, string> {
  return Object.fromEntries([...outcome.failed].map(([ns, error]) => [ns, describeError(error)]));
}
