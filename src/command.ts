// The shape of one `llm-config <command>`: its option table, a validation step for
// rules that span options, and `run`, which gets frozen options and returns an exit
// code. Process concerns (argv, env, signals, exit) stay in bin/.

import type { OptionTable, OptionsOf } from './options/define.ts';

export type CommandContext = {
  /** Aborted on SIGTERM/SIGINT. */
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
};

export type Command<S extends OptionTable> = {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: S;
  readonly validate?: (options: OptionsOf<S>) => void;
  readonly run: (options: OptionsOf<S>, context: CommandContext) => Promise<number>;
};

export function defineCommand<S extends OptionTable>(command: Command<S>): Command<S> {
  return command;
}
