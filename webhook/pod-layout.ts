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

export const AGENT_HTTP_ADDR = '127.0.0.1:8080';
export const AGENT_ADMIN_PORT = 9102;
export const RUN_AS = 65532;
