// The agent's settings: the shared sync table plus what only the long-running
// sidecar needs.

import * as p from '../src/options/parsers.ts';
import { flag, option, optional, type OptionsOf } from '../src/options/define.ts';
import { syncOptionTable } from '../src/options/sync-options.ts';

export const agentOptionTable = {
  ...syncOptionTable,
  shutdownTimeout: option(
    p.duration({ min: 0 }),
    '10s',
    'On SIGTERM, how long to let in-flight requests and watches finish before closing anyway.',
  ),
  httpAddr: option(
    p.listenAddress,
    '127.0.0.1:8080',
    'Local read API on loopback TCP (localhost, 127.0.0.0/8 or [::1]); another address needs --allow-non-loopback.',
  ),
  allowNonLoopback: flag(
    p.boolean,
    'false',
    'Let --http-addr listen beyond loopback (values then leave the pod; warned at start). Requests must still carry a loopback Host.',
  ),
  socket: option(
    p.path,
    '/var/run/llm-config/agent.sock',
    'Local read API on a Unix domain socket (mode 0660, 0666 with --readable-by=all); "off" to disable.',
  ),
  adminAddr: option(p.listenAddress, '0.0.0.0:9102', 'Health and metrics only (/healthz, /readyz, /metrics); never a value.'),
  maxStaleness: option(
    p.durationOrNever,
    'never',
    '/readyz fails when the last successful sync is older than this ("never": only before any data).',
  ),
  staleAfter: option(
    p.duration({ min: 1000 }),
    '5m',
    'Answers older than this (time since the last successful sync) carry Warning and X-Config-Stale headers.',
  ),
  requireRequestHeader: option(
    p.oneOf(['auto', 'true', 'false'] as const),
    'auto',
    'SSRF guard: refuse value reads without "X-LLM-Config-Request: true". auto = on when secrets are served.',
  ),
  maxWatchers: option(
    p.integer(1, 100_000),
    '1024',
    'Most /v1/watch long-polls and /v1/events streams held at once (about 20 KB each); beyond, 503 with Retry-After.',
  ),
  notifyDebounce: option(
    p.duration({ min: 0, max: 600_000 }),
    '1s',
    'Quiet time after a file change before the app is notified (a burst ends in one notification).',
  ),
  reloadUrl: optional(p.httpUrl, 'POST here after files changed (retried with backoff), e.g. http://127.0.0.1:8000/-/reload.'),
  reloadSignal: option(p.signalName, 'SIGHUP', 'Signal sent to --reload-process after files changed.'),
  reloadProcess: optional(p.processName, 'Process to signal after files changed; needs shareProcessNamespace: true in the pod.'),
  localTokenFile: optional(p.path, 'Require "Authorization: Bearer <token>" from this file on the local API (re-read on rotation).'),
};

export type AgentOptions = OptionsOf<typeof agentOptionTable>;
