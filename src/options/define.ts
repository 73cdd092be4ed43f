// Options are described once, as a literal table (name → parser, default, help),
// parsed once in `main` from argv and the environment, validated, and frozen.
// Defaults are written as the text a user would type and go through the same parser,
// so --help shows exactly what is in force and a bad default cannot ship.

import { parseArgs } from 'node:util';
import { InvalidSettingError, InvalidValueError, UsageError } from '../errors.ts';
import type { Parser } from './parsers.ts';

export type OptionSpec<T> = {
  readonly parser: Parser<T>;
  readonly kind: 'value' | 'repeatable' | 'flag';
  readonly defaultText: string | undefined;
  readonly help: string;
  /** One-letter alias, e.g. "f" for --file. */
  readonly short?: string;
};

export function withShort<T>(spec: OptionSpec<T>, short: string): OptionSpec<T> {
  return { ...spec, short };
}

export function option<T>(parser: Parser<T>, defaultText: string, help: string): OptionSpec<T> {
  return { parser, kind: 'value', defaultText, help };
}
export function optional<T>(parser: Parser<T>, help: string): OptionSpec<T | undefined> {
  return { parser: parser as Parser<T | undefined>, kind: 'value', defaultText: undefined, help };
}
/** May be given many times; from the environment, one item per line. */
export function repeatable<T>(parser: Parser<T>, help: string): OptionSpec<readonly T[]> {
  return { parser: parser as unknown as Parser<readonly T[]>, kind: 'repeatable', defaultText: undefined, help };
}
/** A boolean switch: `--x`, `--no-x`, or LLM_CONFIG_X=true|false. */
export function flag(parser: Parser<boolean>, defaultText: 'true' | 'false', help: string): OptionSpec<boolean> {
  return { parser, kind: 'flag', defaultText, help };
}

export type OptionTable = Record<string, OptionSpec<unknown>>;
export type OptionsOf<S extends OptionTable> = { readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

export const ENV_PREFIX = 'LLM_CONFIG_';
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
export function envName(key: string): string {
  return ENV_PREFIX + flagName(key).replace(/-/g, '_').toUpperCase();
}

type Source = { setting: string; raw: string };

function parseOne<T>(spec: OptionSpec<T>, source: Source): T {
  try {
    return spec.parser.parse(source.raw);
  } catch (error) {
    if (error instanceof InvalidValueError) throw new InvalidSettingError(source.setting, source.raw, error.message);
    throw error;
  }
}

/**
 * Flags win over the environment, the environment over defaults. Throws
 * InvalidSettingError naming the flag or variable, the value and what is accepted.
 */
export function parseOptions<S extends OptionTable>(
  table: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OptionsOf<S> {
  const cliValues = readArgv(table, argv);
  const result: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const fromCli = cliValues[key];
    const envRaw = env[envName(key)];
    if (spec.kind === 'repeatable') {
      const raws =
        fromCli !== undefined
          ? (fromCli as string[]).map((raw) => ({ setting: `--${flagName(key)}`, raw }))
          : envRaw !== undefined
            ? envRaw
                .split('\n')
                .filter((l) => l.trim() !== '')
                .map((raw) => ({ setting: envName(key), raw }))
            : [];
      result[key] = Object.freeze(raws.map((s) => parseOne(spec, s)));
      continue;
    }
    const source: Source | undefined =
      fromCli !== undefined
        ? { setting: `--${flagName(key)}`, raw: String(fromCli) }
        : envRaw !== undefined
          ? { setting: envName(key), raw: envRaw }
          : spec.defaultText !== undefined
            ? { setting: `default of --${flagName(key)}`, raw: spec.defaultText }
            : undefined;
    result[key] = source === undefined ? undefined : parseOne(spec, source);
  }
  return Object.freeze(result) as OptionsOf<S>;
}

function readArgv(table: OptionTable, argv: readonly string[]): Record<string, unknown> {
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  const keyOfFlag = new Map<string, string>();
  for (const [key, spec] of Object.entries(table)) {
    const name = flagName(key);
    keyOfFlag.set(name, key);
    config[name] = {
      type: spec.kind === 'flag' ? 'boolean' : 'string',
      multiple: spec.kind === 'repeatable',
      ...(spec.short && { short: spec.short }),
    };
  }
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: false, allowNegative: true }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const first = message.split('. ')[0] ?? message;
    throw new UsageError(`${first.replace(/\.$/, '')} (see --help)`, { cause: error });
  }
  const byKey: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    const key = keyOfFlag.get(name);
    if (key !== undefined) byKey[key] = value;
  }
  return byKey;
}

export function formatHelp(usage: string, summary: string, table: OptionTable): string {
  const rows = Object.entries(table).map(([key, spec]) => {
    const long = spec.kind === 'flag' ? `--[no-]${flagName(key)}` : `--${flagName(key)} ${spec.parser.metavar}`;
    const left = spec.short ? `-${spec.short}, ${long}` : long;
    const more = [
      envName(key),
      spec.defaultText !== undefined ? `default ${spec.defaultText}` : undefined,
      spec.kind === 'repeatable' ? 'repeatable' : undefined,
    ]
      .filter(Boolean)
      .join('; ');
    return `  ${left}\n      ${spec.help} [${more}]`;
  });
  return `${usage}\n\n${summary}\n\nOptions (every flag is also an environment variable; flags win):\n${rows.join('\n')}\n  --help\n      Show this help.\n`;
}
