// The agent's settings: the shared sync table plus what only the long-running
// sidecar needs.

import * as p from '../src/options/parsers.ts';
import { option, type OptionsOf } from '../src/options/define.ts';
import { syncOptionTable } from '../src/options/sync-options.ts';

export const agentOptionTable = {
  ...syncOptionTable,
  shutdownTimeout: option(p.duration({ min: 0 }), '10s', 'On SIGTERM, how long to let in-flight work finish before closing anyway.'),
};

export type AgentOptions = OptionsOf<typeof agentOptionTable>;
