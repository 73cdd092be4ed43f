// Names, paths and ports the injection puts into a pod: one place, read by the
// container specs, the collision checks and the model's rules.

export const NAMES = {
  filesVolume: 'llm-config-files',
  runVolume: 'llm-config-run',
  tokenVolume: 'llm-config-token',
  init: 'llm-config-init',
  agent: 'llm-config-agent',
} as const;

export const PATHS = {
  files: '/etc/llm-config',
  run: '/var/run/llm-config',
  socket: '/var/run/llm-config/agent.sock',
  tokenDir: '/var/run/secrets/llm-config',
  token: '/var/run/secrets/llm-config/token',
  vaultToken: '/var/run/secrets/llm-config/vault-token',
} as const;

/** True when `path` (normalised) is the agent's run directory, inside it or above it: app mounts there would clash. */
export function clashesWithRunDirectory(path: string): boolean {
  const insideOrSame = (inner: string, outer: string) => outer === '/' || inner === outer || inner.startsWith(`${outer}/`);
  return insideOrSame(path, PATHS.run) || insideOrSame(PATHS.run, path);
}

/** The agent's local API listens on loopback; its admin port (probes, metrics) on every interface. */
export const AGENT_HTTP_HOST = '127.0.0.1';
/** Default ports, in the pod's shared network: annotations http-port and admin-port move them. */
export const AGENT_HTTP_PORT = 8080;
export const AGENT_ADMIN_PORT = 9102;
export const RUN_AS = 65532;
