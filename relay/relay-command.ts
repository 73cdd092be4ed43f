// `llm-config relay`: the fleet's read tier (docs/relay.md). Runs until SIGTERM, then
// ends the watch streams (agents reconnect to another replica), drains, exits 0.

import { once } from 'node:events';
import { defineCommand } from '../src/command.ts';
import { relayOptionTable, validateRelayOptions } from './relay-options.ts';
import { startRelay } from './relay-runtime.ts';

export const relayCommand = defineCommand({
  name: 'relay',
  summary:
    'Sync each namespace from the central API once for the whole fleet and serve agents its read API (lists, ETag, watch), with pod identity.',
  usage: 'llm-config relay --central-url URL [--auth kubernetes|none] [--namespaces NS,…] [options]',
  options: relayOptionTable,
  validate: validateRelayOptions,
  async run(options, context) {
    const relay = await startRelay(options);
    if (!context.signal.aborted) await once(context.signal, 'abort');
    await relay.stop();
    return 0;
  },
});
