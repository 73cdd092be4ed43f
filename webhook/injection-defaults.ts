// The webhook's configuration types: defaults for every injected pod (from its flags
// and the Helm values; annotations override them) and the cluster-wide settings they
// cannot. In their own module, so the annotation table, the option table, the model
// and the container specs all read them without importing each other.

import type { Environment } from '../src/environments.ts';

export type InjectionDefaults = {
  readonly environment: Environment;
  readonly namespaces: readonly string[] | undefined;
  readonly centralUrl: URL | undefined;
  readonly syncMode: 'stream' | 'poll';
  readonly pollInterval: number;
  readonly mode: 'sidecar' | 'init-only';
  readonly initFirst: boolean;
  readonly nativeSidecar: boolean;
  readonly mountPath: string;
  /** The agent's local API port on 127.0.0.1 and its admin port: in the pod's network, shared with the app. */
  readonly httpPort: number;
  readonly adminPort: number;
  readonly containers: readonly string[] | undefined;
  readonly reloadUrl: URL | undefined;
  readonly reloadSignal: NodeJS.Signals | undefined;
  readonly reloadProcess: string | undefined;
  readonly cpuRequest: string;
  readonly cpuLimit: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
  readonly vaultRole: string | undefined;
};

/** Cluster-wide settings of the webhook that annotations cannot change. */
export type InjectorSettings = {
  readonly agentImage: string;
  readonly initImage: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly tokenAudience: string;
  readonly tokenExpirationSeconds: number;
  readonly centralHeaders: readonly (readonly [string, string])[];
  readonly vault: { readonly address: URL | undefined; readonly authPath: string; readonly tokenAudience: string };
};
