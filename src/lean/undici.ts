// Only the parts of undici the programs use (issue 14): a Pool with the request API, and
// `request(url)` on an Agent. The package has no `exports` map and its index loads
// everything: fetch, WebSocket, the cache stores, the mocks and every dispatcher
// (+10.5 MiB RSS on a bare Node 24 against what is loaded here; docs/sizing.md). The
// types are the package's own (`import type` is erased). test/unit/lean-modules.test.ts
// checks these deep paths still are what the index exports, so an upgrade that moves
// them fails there, and test/e2e/lazy-modules.test.ts that the agent never loads the index.

import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher;
// What undici's index does: request(), stream()… are a mixin on Dispatcher.prototype.
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export type Pool = Undici.Pool;
const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;

let agent: Undici.Agent | undefined;

/**
 * undici's top-level `request(url, options)`, on an Agent of this module's own (the
 * package's global dispatcher lives in the index this module avoids).
 */
export function request(
  url: URL,
  options: Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'>,
): Promise<Undici.Dispatcher.ResponseData> {
  agent ??= new Agent();
  return agent.request({ ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}
