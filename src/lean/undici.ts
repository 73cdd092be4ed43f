// Only the part of undici the relay uses (src/http/undici-transport.ts): a Pool with the
// request API. The package has no `exports` map and its index loads everything: fetch,
// WebSocket, the cache stores, the mocks and every dispatcher (+10.5 MiB RSS on a bare
// Node 24 against what is loaded here; docs/sizing.md). The types are the package's own
// (`import type` is erased). test/unit/lean-modules.test.ts checks these deep paths
// still are what the index exports, so an upgrade that moves them fails there; the
// agent loads no undici at all (test/e2e/lazy-modules.test.ts).

import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher;
// What undici's index does: request(), stream()… are a mixin on Dispatcher.prototype.
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export type Pool = Undici.Pool;
