// Property: every .env file we write reads back identically through `sh` (set -a; .)
// and dotenv (its default and its `fast` parser), or the value is refused by key name.
// Values are drawn from the characters that break quoting: backslashes, both quotes,
// backticks, newlines, #, =, $ and spaces. Seeded; the seed is printed on failure
// (re-run with LLM_CONFIG_TEST_SEED=<seed>).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse as parseDotenv } from 'dotenv';
import { RenderError } from '../../src/errors.ts';
import { envKey, renderEnv } from '../../src/files/format-env.ts';

const SEED = Number(process.env.LLM_CONFIG_TEST_SEED ?? Date.now());
const RUNS = Number(process.env.FC_RUNS ?? 200);
const TRICKY = ['\\', "'", '"', '`', '\n', '#', '=', '$', ' ', '\t', 'a', 'Z', '{', '}', '(', 'é', '\u2028'];

const fragment = fc.oneof(
  fc.constantFrom(...TRICKY),
  // the two halves of the injection: a value ending in \ followed by one starting with #
  fc.constantFrom('C:\\models\\', '# x\nAPI_BASE=https://evil.example\n', "\\'", '\\n', '${HOME}'),
  fc.string({ maxLength: 6 }),
);
const value = fc.array(fragment, { maxLength: 8 }).map((parts) => parts.join(''));
// Keys stay distinct after envKey, so a clash never hides a quoting defect.
const source = fc.uniqueArray(fc.tuple(fc.constantFrom('model', 'prompt', 'path_prefix', 'api_base', 'x1', 'y2', 'z3'), value), {
  selector: ([key]) => key,
  maxLength: 5,
});

function readWithShell(file: string): Record<string, string> {
  const out = execFileSync('sh', ['-c', 'set -a; . "$1"; env -0', 'sh', file], { env: {} }).toString();
  return Object.fromEntries(
    out
      .split('\0')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

test('env: sh and dotenv read back every value identically, or it is refused by key name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llmc-env-prop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'app.env');
  let refused = 0;
  let written = 0;
  try {
    fc.assert(
      fc.property(source, (pairs) => {
        const object = Object.fromEntries(pairs);
        let text: string;
        try {
          text = renderEnv('app.env', object, { multiline: true });
        } catch (error) {
          assert.ok(error instanceof RenderError, String(error));
          const named = pairs.find(([key]) => error.message.includes(`key "${key}"`));
          assert.ok(named, `refusal names no key: ${error.message}`);
          refused++;
          return;
        }
        written++;
        writeFileSync(file, text);
        const expected = Object.fromEntries(pairs.map(([k, v]) => [envKey(k), v]));
        const readers = {
          dotenv: parseDotenv(text),
          'dotenv fast': parseDotenv(text, { fast: true } as never),
          sh: readWithShell(file),
        };
        for (const [reader, parsed] of Object.entries(readers)) {
          for (const [key, want] of Object.entries(expected)) assert.equal(parsed[key], want, `${reader} reads ${key} differently`);
          if (reader !== 'sh') assert.deepEqual(Object.keys(parsed).sort(), Object.keys(expected).sort(), `${reader}: extra variables`);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  } catch (error) {
    t.diagnostic(`seed ${SEED} (re-run with LLM_CONFIG_TEST_SEED=${SEED})`);
    throw error;
  }
  t.diagnostic(`seed ${SEED}: ${written} files read back identically, ${refused} refused by key name`);
  assert.ok(written > RUNS / 4, 'most generated values must be writable, or the property proves little');
});

/** What docker --env-file and kubectl --from-env-file do: one variable per line, split at the first '='. */
function readLineBased(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.slice(0, line.indexOf('=')));
}

// H2b item 3: without `multiline`, a line-based reader sees exactly the variables written, never one a value injected.
test('env: a line-based reader sees exactly one variable per key, or the file is refused by key name', (t) => {
  let written = 0;
  try {
    fc.assert(
      fc.property(source, (pairs) => {
        let text: string;
        try {
          text = renderEnv('app.env', Object.fromEntries(pairs));
        } catch (error) {
          assert.ok(error instanceof RenderError, String(error));
          assert.ok(
            pairs.some(([key]) => error.message.includes(`key "${key}"`)),
            `refusal names no key: ${error.message}`,
          );
          return;
        }
        written++;
        assert.deepEqual(readLineBased(text), pairs.map(([key]) => envKey(key)).sort());
      }),
      { seed: SEED, numRuns: RUNS },
    );
  } catch (error) {
    t.diagnostic(`seed ${SEED} (re-run with LLM_CONFIG_TEST_SEED=${SEED})`);
    throw error;
  }
  assert.ok(written > 0);
});
