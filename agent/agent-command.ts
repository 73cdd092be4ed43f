// `llm-config agent`: the long-running sidecar. Starts warm from the snapshot init
// wrote, serves at once on loopback and the Unix socket, then keeps the store, the
// files and the snapshot in sync. SIGTERM or POST /v1/shutdown stop it cleanly.

import { once } from 'node:events';
import { defineCommand } from '../src/command.ts';
import { validateSyncOptions } from '../src/sync-context.ts';
import { agentOptionTable } from './agent-options.ts';
import { startAgent } from './agent-runtime.ts';

export const agentCommand = defineCommand({
  name: 'agent',
  summary: 'Run the sync sidecar: serve the local read API, keep files and snapshot in sync by stream or poll.',
  usage: 'llm-config agent --central-url URL --namespaces NS[,NS…] [options]',
  options: agentOptionTable,
  validate: validateSyncOptions,
  async run(options, context) {
    const stop = new AbortController();
    context.signal.addEventListener('abort', () => stop.abort(), { once: true });
    const agent = await startAgent(options, () => stop.abort());
    if (!stop.signal.aborted) await once(stop.signal, 'abort');
    await agent.stop();
    return 0;
  },
});
