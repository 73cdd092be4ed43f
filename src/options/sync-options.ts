// The settings `init` and `agent` share: where the central API is, what to sync, how,
// and where files and the snapshot go. One literal; each command spreads it into its
// own table and adds what only it needs.

import * as p from './parsers.ts';
import { flag, option, optional, repeatable } from './define.ts';

export const syncOptionTable = {
  centralUrl: option(p.httpUrl, 'http://127.0.0.1:8081', 'Base URL of the central API (upstream llm-config-server or compatible).'),
  environment: option(p.environment, 'development', 'Environment to sync; upstream aliases accepted, case-insensitive.'),
  namespaces: optional(p.namespaceList, 'Namespaces to sync, comma-separated (required).'),
  syncMode: option(
    p.oneOf(['stream', 'poll'] as const),
    'stream',
    'stream: SSE watch, falling back to polling when the server has none; poll: polling only.',
  ),
  pollInterval: option(
    p.duration({ min: 1000 }),
    '30s',
    'Poll interval (±10 % jitter). Size it against the central API rate limits: see docs/sizing.md.',
  ),
  resyncInterval: option(
    p.duration({ min: 1000 }),
    '10m',
    'Full resync period in stream mode; also how often a polling agent probes for the stream again.',
  ),
  heartbeatTimeout: option(
    p.duration({ min: 100 }),
    '45s',
    'Watch stream silence that counts as a disconnect (3 × the server ping interval).',
  ),
  backoffBase: option(
    p.duration({ min: 1 }),
    '1s',
    'Shortest wait after a failure, whatever Retry-After says (jittered, doubling up to --backoff-max; never over 1 h).',
  ),
  backoffMax: option(p.duration({ min: 1 }), '60s', 'Backoff ceiling.'),
  centralHeader: repeatable(p.header, "Extra request header for the central API, e.g. 'X-Forwarded-Proto: https'."),
  tokenFile: optional(p.path, 'Bearer token file for the central API (re-read when it rotates).'),
  caFile: optional(p.path, 'PEM CA bundle to verify the central API certificate.'),
  clientCert: optional(p.path, 'PEM client certificate for mTLS to the central API.'),
  clientKey: optional(p.path, 'PEM client key for mTLS to the central API.'),
  insecureSkipTlsVerify: flag(p.boolean, 'false', 'Do not verify the central API TLS certificate (never in production).'),
  requestTimeout: option(p.duration({ min: 100 }), '10s', 'Timeout for one central API request (headers and body).'),
  maxResponseBytes: option(p.integer(1024, 1024 * 1024 * 1024), '16777216', 'Largest central API answer accepted, in bytes.'),
  outputDir: option(p.path, '/etc/llm-config', 'Directory for the rendered files (AtomicWriter layout).'),
  cacheDir: option(p.path, '/var/run/llm-config', 'Directory for the snapshot init writes and the agent starts from.'),
  fileMode: option(p.fileMode, '0440', 'Default mode of the rendered files.'),
  readableBy: option(
    p.oneOf(['group', 'all'] as const),
    'group',
    "Who besides the agent's uid reads the files and the socket. group: file modes as given (they must grant group read) and socket 0660, for pods with fsGroup; all: files at least 0444 and socket 0666, for pods without fsGroup (inside the pod-private volume).",
  ),
  files: optional(
    p.text,
    'Named files to render instead of one <namespace>.json each: a JSON array, or @path to a JSON/YAML file (docs/files.md).',
  ),
  logLevel: option(p.logLevel, 'info', 'Log level.'),
  vaultAddr: optional(p.httpUrl, 'Vault address for secrets (docs/vault.md).'),
  vaultCaFile: optional(p.path, 'PEM CA bundle to verify Vault.'),
  vaultNamespace: optional(p.text, 'Vault Enterprise namespace.'),
  vaultRole: optional(p.text, 'Vault Kubernetes auth role.'),
  vaultAuthPath: option(p.text, 'kubernetes', "Mount path of Vault's Kubernetes auth method."),
  vaultJwtFile: option(
    p.path,
    '/var/run/secrets/kubernetes.io/serviceaccount/token',
    'Service-account token for the Vault login (re-read on rotation).',
  ),
  vaultSecret: repeatable(p.vaultSecret, 'KV v2 secret to serve as namespace "vault", key NAME: NAME=MOUNT/PATH.'),
  vaultPollInterval: option(p.duration({ min: 1000 }), '5m', 'How often secrets are re-read from Vault (±10 % jitter).'),
  vaultTimeout: option(p.duration({ min: 100 }), '10s', 'Timeout of one Vault request.'),
  snapshotKeyFile: optional(
    p.path,
    'AES-256 key (32 bytes: raw, hex or base64) to seal secrets into the snapshot; without it they are never written there.',
  ),
} as const;
