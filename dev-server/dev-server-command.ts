// `llm-config dev-server`: the reference central API on its own, for local work and
// end-to-end tests. Also used in-process by `llm-config dev`.

import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { defineCommand } from '../src/command.ts';
import { flag, option, optional, repeatable, type OptionsOf } from '../src/options/define.ts';
import * as p from '../src/options/parsers.ts';
import { createLogger, type Logger } from '../src/logger.ts';
import { describeError, InvalidSettingError } from '../src/errors.ts';
import { DevStore } from './dev-store.ts';
import { createDevServerHandler } from './http-app.ts';
import { loadSeed } from './seed.ts';

export const devServerOptionTable = {
  addr: option(p.listenAddress, '127.0.0.1:8081', 'Listen address (port 0 picks a free port; the bound address is logged).'),
  seed: optional(p.path, 'YAML/JSON file to load at start: environment → namespace → key → value.'),
  data: optional(p.path, 'Persist the data to this JSON file (loaded at start, saved after every write).'),
  upstreamStrict: flag(
    p.boolean,
    'false',
    'Behave like upstream llm-config-server: no ETag, no watch, rate limits and ban, 426 without X-Forwarded-Proto: https, input filter.',
  ),
  authToken: repeatable(p.text, 'Accept this bearer token on /api/v1/* (auth is off when none is given).'),
  pingInterval: option(p.duration({ min: 10 }), '15s', 'Heartbeat comment interval on the watch stream.'),
  logLevel: option(p.logLevel, 'info', 'Log level (debug logs every request).'),
};

export type RunningDevServer = { readonly server: Server; readonly store: DevStore; readonly url: string; close(): Promise<void> };

export async function startDevServer(options: OptionsOf<typeof devServerOptionTable>, logger: Logger): Promise<RunningDevServer> {
  const store = new DevStore();
  if (options.data && (await store.load(options.data))) logger.info({ data: options.data, revision: store.revision }, 'loaded data');
  else if (options.seed) logger.info({ seed: options.seed, entries: await loadSeed(store, options.seed) }, 'seeded');
  let saving = Promise.resolve();
  const onWrite =
    options.data === undefined
      ? undefined
      : () => {
          saving = saving
            .then(() => store.save(options.data!))
            .catch((error) => logger.error({ err: describeError(error) }, 'saving data failed'));
        };
  const app = createDevServerHandler(store, {
    strict: options.upstreamStrict,
    tokens: options.authToken,
    pingIntervalMs: options.pingInterval,
    logger,
    ...(onWrite && { onWrite }),
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void app.handle(req, res));
  server.listen(options.addr.port, options.addr.host);
  try {
    await once(server, 'listening');
  } catch (error) {
    // A busy or forbidden address is a bad --addr, said in one line (exit 2), not a stack trace.
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const { host, port } = options.addr;
    const raw = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new InvalidSettingError('--addr', raw, `an address this process can listen on (${code})`, { cause: error });
  }
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  logger.info({ address: `${address}:${port}`, url, strict: options.upstreamStrict }, 'listening');
  return {
    server,
    store,
    url,
    async close() {
      server.closeAllConnections();
      server.close();
      await saving;
    },
  };
}

export const devServerCommand = defineCommand({
  name: 'dev-server',
  summary: 'Run the reference central API (upstream-compatible routes, ETag, SSE watch).',
  usage: 'llm-config dev-server [--addr HOST:PORT] [--seed FILE] [--upstream-strict] [options]',
  options: devServerOptionTable,
  async run(options, context) {
    const logger = createLogger({ level: options.logLevel, name: 'llm-config-dev-server' });
    const running = await startDevServer(options, logger);
    await once(context.signal, 'abort');
    logger.info('shutting down');
    await running.close();
    return 0;
  },
});
