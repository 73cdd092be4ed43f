// The one place that touches the process: argv, the environment, signals, stdout and
// exit codes. Commands get frozen options and an abort signal, and return a code.

import { readFileSync } from 'node:fs';
import { formatHelp, parseOptions, type OptionTable } from '../src/options/define.ts';
import { LlmConfigError } from '../src/errors.ts';
import type { Command } from '../src/command.ts';

type AnyCommand = Command<OptionTable>;
const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  init: async () => (await import('../init/init-command.ts')).initCommand as unknown as AnyCommand,
  agent: async () => (await import('../agent/agent-command.ts')).agentCommand as unknown as AnyCommand,
  'dev-server': async () => (await import('../dev-server/dev-server-command.ts')).devServerCommand as unknown as AnyCommand,
  dev: async () => (await import('../dev-server/dev-command.ts')).devCommand as unknown as AnyCommand,
  webhook: async () => (await import('../webhook/webhook-command.ts')).webhookCommand as unknown as AnyCommand,
  inject: async () => (await import('../webhook/inject-command.ts')).injectCommand as unknown as AnyCommand,
  relay: async () => (await import('../relay/relay-command.ts')).relayCommand as unknown as AnyCommand,
};

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function usage(): string {
  return `llm-config ${version}: Kubernetes sidecar of LLM-Config-Manager

Usage: llm-config <command> [flags]      llm-config <command> --help

Commands:
  init         fetch configuration, write files and the snapshot, exit (init container)
  agent        keep files in sync and serve the local read API (sidecar)
  dev-server   the reference central API, for local work and tests
  dev          dev-server + init + agent on this machine, seeded from examples/
  webhook      the HTTPS mutating admission webhook that injects init + agent into pods
  inject       print Kubernetes YAML with the sidecar injected, as the webhook would
  relay        the fleet's read tier: one upstream sync per namespace, served to every agent
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`llm-config: unknown command "${name}" (one of ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  let command: AnyCommand;
  try {
    command = await load();
  } catch (error) {
    // The init image ships only `init`; say so instead of printing a module-resolution trace.
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      process.stderr.write(`llm-config: the "${name}" command is not part of this image\n`);
      return 2;
    }
    throw error;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(formatHelp(`Usage: ${command.usage}`, command.summary, command.options));
    return 0;
  }
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(command.options, rest, process.env);
    command.validate?.(options);
  } catch (error) {
    if (error instanceof LlmConfigError) {
      process.stderr.write(`llm-config ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => controller.abort(new Error(signal)));
  try {
    return await command.run(options, { signal: controller.signal, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
  } catch (error) {
    if (error instanceof LlmConfigError) {
      process.stderr.write(`llm-config ${name}: ${error.message}\n`);
      return error.code === 'LLMC_ERR_INVALID_SETTING' ? 2 : 1;
    }
    throw error;
  }
}

const code = await main(process.argv.slice(2));
// Exit explicitly once stdout is flushed: a command that returned is done, whatever
// handle a library may still hold open.
process.stdout.write('', () => process.exit(code));
