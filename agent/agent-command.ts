// `llm-config agent`: the long-running sidecar. Starts warm from the snapshot init
// wrote, serves at once on loopback and the Unix socket, then keeps the store, the
// files and the snapshot in sync. SIGTERM or POST /v1/shutdown stop it cleanly.

import { once } from 'node:events';
import { defineCommand } from '../src/command.ts';
import { InvalidSettingError } from '../src/errors.ts';
import { validateSyncOptions } from '../src/sync/sync-context.ts';
import { agentOptionTable, type AgentOptions } from './agent-options.ts';
import { isLoopbackAddress } from './local-api/loopback.ts';
import { startAgent } from './agent-runtime.ts';

export const agentCommand = defineCommand({
  name: 'agent',
  summary: 'Run the sync sidecar: serve the local read API, keep files and snapshot in sync by stream or poll.',
  usage: 'llm-config agent --central-url URL --namespaces NS[,NS…] [options]',
  options: agentOptionTable,
  validate: validateAgentOptions,
  async run(options, context) {
    const stop = new AbortController();
    context.signal.addEventListener('abort', () => stop.abort(), { once: true });
    const agent = await startAgent(options, () => stop.abort());
    if (!stop.signal.aborted) await once(stop.signal, 'abort');
    await agent.stop();
    return 0;
  },
});

/** The shared sync rules, plus: values stay on loopback unless --allow-non-loopback says otherwise. */
export function validateAgentOptions(options: AgentOptions): void {
  validateSyncOptions(options);
  const { host, port } = options.httpAddr;
  if (!options.allowNonLoopback && !isLoopbackAddress(host)) {
    throw new InvalidSettingError(
      '--http-addr',
      host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
      'a loopback address (localhost, 127.0.0.0/8 or [::1]): the local API serves configuration values; add --allow-non-loopback to listen there anyway',
    );
  }
}
