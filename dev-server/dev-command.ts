// `llm-config dev` (`npm start`): the whole product on one machine, no cluster. An
// in-process reference central API seeded from examples/, then `init`, then `agent`,
// each run exactly as in a pod, with files under ./.llm-config-dev. Every listener has
// a flag; a busy one ends `dev` in one line naming it, before any "running" banner.

import { readFile, mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { defineCommand } from '../src/command.ts';
import { option, optional, parseOptions } from '../src/options/define.ts';
import * as p from '../src/options/parsers.ts';
import { createLogger } from '../src/logger.ts';
import { InvalidSettingError } from '../src/errors.ts';
import { defaultFileName } from '../src/files/file-spec.ts';
import { initCommand } from '../init/init-command.ts';
import { agentCommand } from '../agent/agent-command.ts';
import { startAgent } from '../agent/agent-runtime.ts';
import { devServerOptionTable, startDevServer, type RunningDevServer } from './dev-server-command.ts';

const DEFAULT_SEED = fileURLToPath(new URL('../examples/seed.yaml', import.meta.url));

export const devCommand = defineCommand({
  name: 'dev',
  summary: 'Run the reference central API, init and agent together on this machine, seeded from examples/.',
  usage:
    'llm-config dev [--dir DIR] [--seed FILE] [--central-addr HOST:PORT] [--http-addr HOST:PORT] [--admin-addr HOST:PORT] [--socket PATH]',
  options: {
    dir: option(p.path, '.llm-config-dev', 'Working directory for files, cache and data.'),
    seed: option(p.path, DEFAULT_SEED, 'Seed file for the central API (YAML: environment → namespace → key → value).'),
    centralAddr: option(p.listenAddress, '127.0.0.1:8081', 'Where the embedded central API listens (port 0 picks a free port).'),
    httpAddr: option(p.listenAddress, '127.0.0.1:8080', "The agent's local read API on loopback TCP (port 0 picks a free port)."),
    adminAddr: option(p.listenAddress, '127.0.0.1:9102', "The agent's health and metrics endpoints (port 0 picks a free port)."),
    socket: optional(p.path, 'The agent\'s local read API on a Unix socket [default DIR/agent.sock]; "off" to disable.'),
    environment: option(p.environment, 'development', 'Environment the agent syncs.'),
    logLevel: option(p.logLevel, 'warn', 'Log level of the three parts.'),
  },
  async run(options, context) {
    const dir = resolve(options.dir);
    await mkdir(dir, { recursive: true });
    const central = await startCentral(options.centralAddr, options.seed, join(dir, 'central-data.json'), options.logLevel);
    try {
      const namespaces = await seededNamespaces(options.seed, options.environment);
      const shared = [
        '--central-url',
        central.url,
        '--environment',
        options.environment,
        '--namespaces',
        namespaces.join(','),
        '--output-dir',
        join(dir, 'files'),
        '--cache-dir',
        join(dir, 'cache'),
        '--file-mode',
        '0640',
        '--log-level',
        options.logLevel,
      ];
      const initCode = await initCommand.run(parseOptions(initCommand.options, [...shared, '--init-timeout', '10s'], {}), context);
      if (initCode !== 0) return initCode;
      const socket = options.socket ?? join(dir, 'agent.sock');
      const agentArgs = [
        ...shared,
        ...['--http-addr', hostPort(options.httpAddr), '--admin-addr', hostPort(options.adminAddr), '--socket', socket],
      ];
      const agentOptions = parseOptions(agentCommand.options, agentArgs, {});
      agentCommand.validate?.(agentOptions);
      // The agent's listeners name the flags (--http-addr, --admin-addr, --socket) that
      // `dev` shares with it; the banner comes only once all of them listen.
      const stop = new AbortController();
      context.signal.addEventListener('abort', () => stop.abort(), { once: true });
      const agent = await startAgent(agentOptions, () => stop.abort());
      try {
        const a = agent.addresses;
        context.stdout.write(
          instructions(
            { central: central.url, http: `http://${a.http}`, admin: `http://${a.admin}`, socket: a.socket },
            join(dir, 'files'),
            namespaces,
            options.environment,
          ),
        );
        if (!stop.signal.aborted) await once(stop.signal, 'abort');
      } finally {
        await agent.stop();
      }
      return 0;
    } finally {
      await central.close();
    }
  },
});

function hostPort(a: p.ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The embedded central API; a busy or forbidden address is a bad --central-addr, said in one line. */
async function startCentral(addr: p.ListenAddress, seed: string, data: string, logLevel: string): Promise<RunningDevServer> {
  const logger = createLogger({ level: logLevel, name: 'llm-config-dev-server' });
  const raw = hostPort(addr);
  const options = parseOptions(devServerOptionTable, ['--addr', raw, '--seed', seed, '--data', data, '--log-level', logLevel], {});
  try {
    return await startDevServer(options, logger);
  } catch (error) {
    // The embedded server's --addr is this command's --central-addr.
    if (!(error instanceof InvalidSettingError) || error.setting !== '--addr') throw error;
    throw new InvalidSettingError('--central-addr', raw, error.accepted, { cause: error.cause });
  }
}

async function seededNamespaces(seedPath: string, environment: string): Promise<string[]> {
  const doc = parse(await readFile(seedPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const forEnv = Object.entries(doc).find(([env]) => p.environment.parse(env) === environment)?.[1] ?? {};
  const names = Object.keys(forEnv);
  return names.length > 0 ? names : ['default'];
}

type Endpoints = { central: string; http: string; admin: string; socket: string | undefined };

function instructions(at: Endpoints, filesDir: string, namespaces: string[], environment: string): string {
  const ns = namespaces[0]!;
  const socketLine = at.socket === undefined ? '' : `\n  curl --unix-socket ${at.socket} http://agent/v1/values/${ns}/model`;
  return `
llm-config dev is running (Ctrl-C to stop).

  central API (reference dev-server)  ${at.central}
  agent local API                      ${at.http}${at.socket === undefined ? '' : `   and   ${at.socket}`}
  agent health and metrics             ${at.admin}/readyz   /metrics
  rendered files                       ${filesDir}/
${namespaces.map((n) => `      ${defaultFileName(n)}`).join('\n')}

Read a value the way an app in the pod would:
  curl ${at.http}/api/v1/configs/${ns}/model${socketLine}
  curl ${at.http}/v1/status

Change it in the central API and watch it arrive:
  curl -X POST ${at.central}/api/v1/configs/${ns}/model \\
       -H 'content-type: application/json' -d '{"value":"gpt-4o","env":"${environment}"}'
  cat ${filesDir}/${defaultFileName(ns)}

`;
}
