// One poll of every namespace: one list request each, conditional when the server gave
// an ETag, all answers applied as a single revision. A namespace that fails keeps its
// last-known-good data and does not hold back the others. Only namespaces that
// answered are loaded; a cycle in which nothing answered loads nothing. After a 429
// the engine asks for the requests to be spread (`spacing`): one at a time, a gap
// apart, so agents sharing one IP do not add their bursts up past upstream's burst.

import { CentralProtocolError, CentralRateLimitedError, describeError } from '../errors.ts';
import type { CentralClient } from '../central/client.ts';
import type { Environment } from '../environments.ts';
import type { Entry, Refusal } from '../central/entry.ts';
import type { ConfigStore } from '../store/config-store.ts';

export type PollOutcome = {
  readonly succeeded: readonly string[];
  readonly failed: ReadonlyMap<string, unknown>;
  readonly changed: number;
};

/** Requests one after another, `gapMs` apart (the engine's clock). */
export type Spacing = { readonly gapMs: number; readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> };

export async function pollAllNamespaces(
  client: CentralClient,
  store: ConfigStore,
  namespaces: readonly string[],
  etags: Map<string, string>,
  signal?: AbortSignal,
  environment?: Environment,
  spacing?: Spacing,
): Promise<PollOutcome> {
  const fetched = new Map<string, readonly Entry[]>();
  const refused: Refusal[] = [];
  const failed = new Map<string, unknown>();
  const succeeded: string[] = [];
  const newEtags = new Map<string, string | undefined>();
  const poll = async (namespace: string): Promise<void> => {
    try {
      // A namespace never loaded asks unconditionally: a 304 cannot load it.
      const etag = store.isLoaded(namespace) ? etags.get(namespace) : undefined;
      const result = await client.listNamespace(namespace, etag, signal, environment);
      if (result.kind === 'entries') {
        // An answer that is not for the question (foreign entries: `env=` lost upstream) is refused whole: not a success.
        const problem = store.answerProblem(namespace, result.entries);
        if (problem !== undefined) {
          store.reportRefusal({ namespace, key: undefined, kind: 'foreign-answer', reason: problem });
          failed.set(namespace, new CentralProtocolError(problem));
          return;
        }
        fetched.set(namespace, result.entries);
        refused.push(...result.refused);
        newEtags.set(namespace, result.etag);
      }
      succeeded.push(namespace);
    } catch (error) {
      if (signal?.aborted) throw error;
      failed.set(namespace, error);
    }
  };
  if (spacing === undefined || spacing.gapMs <= 0) await Promise.all(namespaces.map(poll));
  else
    for (const [i, namespace] of namespaces.entries()) {
      if (i > 0) await spacing.sleep(spacing.gapMs, signal);
      await poll(namespace);
    }
  const changes = store.replaceNamespaces(fetched, refused);
  // ETags move only after their data is applied, so a crash never pairs new tags with old data.
  for (const [namespace, etag] of newEtags) {
    if (etag === undefined) etags.delete(namespace);
    else etags.set(namespace, etag);
  }
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
