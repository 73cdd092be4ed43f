// dotenv files that mean the same to `set -a; . ./app.env` in sh and to a dotenv
// parser. Keys become [A-Z_][A-Z0-9_]*; two keys that land on one name are refused.
// Each value gets the one quoting both readers take literally:
//   'single quotes' when it has no ' (newlines, $, ", #, \ and unicode survive);
//   "double quotes" when it has a ' but none of " $ ` \ (which sh would interpret);
// anything else (and NUL, and \r, which dotenv normalises away) cannot be written for
// both readers, and is refused with the key named.

import { RenderError } from '../errors.ts';

export function envKey(key: string): string {
  const safe = key.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return /^[0-9]/.test(safe) ? `_${safe}` : safe;
}

function quote(file: string, key: string, value: string): string {
  if (value.includes('\0')) throw new RenderError(file, `key "${key}": NUL cannot be stored in an environment variable`);
  if (value.includes('\r'))
    throw new RenderError(
      file,
      `key "${key}": a carriage return does not survive dotenv parsers (they normalise line endings); use json or yaml`,
    );
  if (!value.includes("'")) return `'${value}'`;
  if (!/["$`\\]/.test(value)) return `"${value}"`;
  throw new RenderError(
    file,
    `key "${key}": a value with both ' and one of " $ \` \\ has no quoting that sh and dotenv read alike; use json or yaml`,
  );
}

export function renderEnv(file: string, source: unknown): string {
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    throw new RenderError(file, 'env format needs a namespace or an object value');
  }
  const lines = new Map<string, { key: string; line: string }>();
  for (const [key, value] of Object.entries(source)) {
    const name = envKey(key);
    const clash = lines.get(name);
    if (clash) throw new RenderError(file, `keys "${clash.key}" and "${key}" both become ${name}`);
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    lines.set(name, { key, line: `${name}=${quote(file, key, text)}` });
  }
  return [...lines.keys()]
    .sort()
    .map((name) => `${lines.get(name)!.line}\n`)
    .join('');
}
