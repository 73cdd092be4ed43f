// The relay flags the chart passes only when their value is set: the values key is the
// option table's key (relay/relay-options.ts), so defaults are never written twice.

/** Values under `relay:` that are null (the relay's default) unless set. */
export const OPTIONAL_RELAY_VALUES = [
  'syncMode',
  'requestTimeout',
  'resyncInterval',
  'heartbeatTimeout',
  'backoffBase',
  'backoffMax',
  'maxResponseBytes',
  'maxNamespacesPerClient',
  'tokenReviewRps',
  'tokenReviewTimeout',
  'pingInterval',
  'shutdownTimeout',
] as const;

/** Their durations, with the least the template lets through (the parser's `min`). */
export const RELAY_DURATION_MINIMUMS: Record<string, number> = {
  pollInterval: 1000,
  idleTimeout: 1000,
  requestTimeout: 100,
  resyncInterval: 1000,
  heartbeatTimeout: 100,
  backoffBase: 1,
  backoffMax: 1,
  tokenReviewTimeout: 100,
  pingInterval: 10,
};

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Every flag this work added to the relay Deployment. */
export const NEW_RELAY_FLAGS = [
  ...OPTIONAL_RELAY_VALUES.map((key) => `--${kebab(key)}`),
  '--ca-file',
  '--client-cert',
  '--client-key',
  '--state-key-file',
];
