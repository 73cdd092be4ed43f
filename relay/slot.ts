// One (environment, namespace) the relay syncs: its own agent ConfigStore (the same
// diffing and invariants: answers not for the question refused, a lower version of an
// id held ignored) and the bookkeeping the scheduler, the readers and the upstream
// stream share.

import type { Environment } from '../src/environments.ts';
import { ConfigStore, type NamespaceData } from '../src/store/config-store.ts';

export class Slot {
  readonly key: string;
  readonly environment: Environment;
  readonly namespace: string;
  readonly store: ConfigStore;
  /** Relay revision of the data held (0: nothing yet). */
  revision = 0;
  lastSuccessAt: number | undefined;
  lastAttemptAt: number | undefined;
  lastError: string | undefined;
  failures = 0;
  nextDueAt = 0;
  lastDemandAt: number;
  streams = 0;
  pinned = false;
  polling = false;
  /** Kept current by an upstream watch stream (upstream-watch.ts): polled only at each resync. */
  streamed = false;
  /** The identity that made the relay sync this slot, while nobody else has read it (its per-client cap). */
  owner: string | undefined = undefined;
  #attempt = Promise.withResolvers<void>();

  constructor(environment: Environment, namespace: string, now: number) {
    this.key = slotKey(environment, namespace);
    this.environment = environment;
    this.namespace = namespace;
    // The store refuses entries of another namespace or environment, and never goes back in time.
    this.store = new ConfigStore([namespace], { environment });
    this.lastDemandAt = now;
  }

  get data(): NamespaceData {
    return this.store.view.namespaces.get(this.namespace) ?? new Map();
  }

  /** Settles when the current (or next) upstream attempt for this slot ends. */
  get nextAttempt(): Promise<void> {
    return this.#attempt.promise;
  }

  attemptEnded(): void {
    this.#attempt.resolve();
    this.#attempt = Promise.withResolvers<void>();
  }
}

export function slotKey(environment: string, namespace: string): string {
  return `${environment}\u0000${namespace}`;
}
