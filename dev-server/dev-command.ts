// `llm-config dev` (`npm start`): the whole product on one machine, no cluster. An
// in-process reference central API seeded from examples/, then `init`, then `agent`,
// each run exactly as in a pod, with files under ./.llm-config-dev.

import { readFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { defineCommand } from '../src/command.ts';
import { option, parseOptions } from '../src/options/define.ts';
import * as p from '../src/options/parsers.ts';
import { createLogger } from '../src/logger.ts';
import { defaultFileName } from '../src/files/file-spec.ts';
import { initCommand } from '../init/init-command.ts';
import { agentCommand } from '../agent/agent-command.ts';
import { startDevServer } from './dev-server-command.ts';

const DEFAULT_SEED = fileURLToPath(new URL('../examples/seed.yaml', import.meta.url));

export const devCommand = defineCommand({
  name: 'dev',
  summary: 'Run the reference central API, init and agent together on this machine, seeded from examples/.',
  usage: 'llm-config dev [--dir DIR] [--seed FILE] [--central-addr HOST:PORT]',
  options: {
    dir: option(p.path, '.llm-config-dev', 'Working directory for files, cache and data.'),
    seed: option(p.path, DEFAULT_SEED, 'Seed file for the central API (YAML: environment → namespace → key → value).'),
    centralAddr: option(p.listenAddress, '127.0.0.1:8081', 'Where the embedded central API listens.'),
    environment: option(p.environment, 'development', 'Environment the agent syncs.'),
    logLevel: option(p.logLevel, 'warn', 'Log level of the three parts.'),
  },
  async run(options, context) {
    const dir = resolve(options.dir);
    await mkdir(dir, { recursive: true });
    const logger = createLogger({ level: options.logLevel, name: 'llm-config-dev-server' });
    const central = await startDevServer(
      {
        addr: options.centralAddr,
        seed: options.seed,
        data: join(dir, 'central-data.json'),
        upstreamStrict: false,
        authToken: [],
        pingInterval: 15_000,
        logLevel: options.logLevel,
      },
      logger,
    );
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
      const socket = join(dir, 'agent.sock');
      const agentArgs = [...shared, '--http-addr', '127.0.0.1:8080', '--socket', socket, '--admin-addr', '127.0.0.1:9102'];
      context.stdout.write(instructions(central.url, join(dir, 'files'), socket, namespaces, options.environment));
      return await agentCommand.run(parseOptions(agentCommand.options, agentArgs, {}), context);
    } finally {
      await central.close();
    }
  },
});

async function seededNamespaces(seedPath: string, environment: string): Promise<string[]> {
  const doc = parse(await readFile(seedPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const forEnv = Object.entries(doc).find(([env]) => p.environment.parse(env) === environment)?.[1] ?? {};
  const names = Object.keys(forEnv);
  return names.length > 0 ? names : ['default'];
}

function instructions(centralUrl: string, filesDir: string, socket: string, namespaces: string[], environment: string): string {
  const ns = namespaces[0]!;
  return `
llm-config dev is running (Ctrl-C to stop).

  central API (reference dev-server)  ${centralUrl}
  agent local API                      http://127.0.0.1:8080   and   ${socket}
  agent health and metrics             http://127.0.0.1:9102/readyz   /metrics
  rendered files                       ${filesDir}/
${namespaces.map((n) => `      ${defaultFileName(n)}`).join('\n')}

Read a value the way an app in the pod would:
  curl http://127.0.0.1:8080/api/v1/configs/${ns}/model
  curl --unix-socket ${socket} http://agent/v1/values/${ns}/model
  curl http://127.0.0.1:8080/v1/status

Change it in the central API and watch it arrive:
  curl -X POST ${centralUrl}/api/v1/configs/${ns}/model \\
       -H 'content-type: application/json' -d '{"value":"gpt-4o","env":"${environment}"}'
  cat ${filesDir}/${defaultFileName(ns)}

`;
}
