// Property: whatever the template and whatever the data, a file that fails to render
// fails with a RenderError whose message names file, position and kind — and holds no
// piece of the data. The data is full of marked secrets in every shape a template can
// trip over (strings, lists of strings, nested objects, numbers). Seeded; the seed is
// printed on failure (re-run with LLM_CONFIG_TEST_SEED=<seed>).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RenderError } from '../../src/errors.ts';
import { compileTemplate } from '../../src/files/format-template.ts';
import { renderEnv } from '../../src/files/format-env.ts';

const SEED = Number(process.env.LLM_CONFIG_TEST_SEED ?? Date.now());
const RUNS = Number(process.env.FC_RUNS ?? 300);
const MARK = 'SECRET-9f2c';

const KEYS = ['a', 'b', 'c', 'x', 'path', 'ld_preload'] as const;
const secret = fc.string({ maxLength: 6 }).map((s) => `${MARK}${s}`);
const leaf = fc.oneof(secret, fc.constant(`it's $${MARK}`), fc.constant(`${MARK}\\`), fc.integer(), fc.boolean(), fc.constant(null));
const value = fc.oneof(
  leaf,
  fc.array(secret, { maxLength: 3 }),
  fc.dictionary(fc.constantFrom(...KEYS), leaf, { maxKeys: 3 }),
  fc.array(fc.dictionary(fc.constantFrom(...KEYS), leaf, { maxKeys: 2 }), { maxLength: 2 }),
);
const data = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 4 });

const path = fc.oneof(
  fc.constantFrom(...KEYS),
  fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...KEYS)).map(([a, b]) => `${a}.${b}`),
);
const piece: fc.Arbitrary<string> = fc.letrec<{ piece: string }>((tie) => ({
  piece: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('text ', '\n', '{{@index}}', '{{this}}'),
    path.map((p) => `{{${p}}}`),
    path.map((p) => `{{json ${p}}}`),
    path.map((p) => `{{default ${p} "d"}}`),
    fc
      .tuple(fc.constantFrom('with', 'each', 'if', 'unless'), path, tie('piece'))
      .map(([block, p, body]) => `{{#${block} ${p}}}${body}{{/${block}}}`),
    fc.tuple(fc.constantFrom(...KEYS), tie('piece'), tie('piece')).map(([p, body, other]) => `{{#${p}}}${body}{{else}}${other}{{/${p}}}`),
  ),
})).piece;
const template = fc.array(piece, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(''));

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(strings);
}

test('render errors never carry a value, whatever the template and the data', (t) => {
  let failed = 0;
  try {
    fc.assert(
      fc.property(template, data, (source, context) => {
        const renderers = [() => compileTemplate(source)(context, 'f.conf'), () => renderEnv('f.env', context)];
        for (const render of renderers) {
          try {
            render();
          } catch (error) {
            failed++;
            assert.ok(error instanceof RenderError, `${source}: ${String(error)}`);
            assert.equal(error.cause, undefined);
            assert.ok(!error.message.includes(MARK), `a value in: ${error.message}`);
            for (const text of strings(context)) if (text.length >= 3) assert.ok(!error.message.includes(text), error.message);
            assert.match(error.message, /^f\.(conf|env): /);
          }
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  } catch (error) {
    t.diagnostic(`seed ${SEED} (re-run with LLM_CONFIG_TEST_SEED=${SEED})`);
    throw error;
  }
  t.diagnostic(`seed ${SEED}: ${failed} render errors checked`);
  assert.ok(failed > RUNS / 4, 'most runs must fail somewhere, or the property proves little');
});
