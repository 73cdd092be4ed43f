// Random strings (values and keys) written by the yaml format read back as the same
// strings through a YAML 1.2 reading and a YAML 1.1 reading (the `yaml` library with
// `version: '1.1'`, the rules of PyYAML and go-yaml v2). Seeded: LLM_CONFIG_TEST_SEED
// replays a failure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { toPortableYaml } from '../../src/files/format-yaml.ts';
import { SEED, seedNote } from './fc-seed.ts';

const RUNS = Number(process.env.FC_RUNS ?? 300);

/** Strings built from the characters YAML scalars are made of, so the traps (yes, 1:20, 0x1F, 2001-01-01, <<) come up often. */
const yamlish = fc.oneof(
  fc.stringMatching(/^[-+.:_0-9a-fA-FxXoObBnNyYtT=<~ ]{0,12}$/),
  fc.constantFrom('yes', 'on', 'Off', '2001-01-01', '1_000', '1:20', '=', '<<', '~', '.inf', '0o14', '1e3', 'null'),
  fc.string({ maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

test('yaml: random strings round-trip through YAML 1.2 and YAML 1.1 readings', (t) => {
  t.diagnostic(seedNote);
  fc.assert(
    fc.property(
      fc.dictionary(yamlish, fc.oneof(yamlish, fc.array(yamlish, { maxLength: 3 })), { maxKeys: 5, noNullPrototype: true }),
      (value) => {
        const text = toPortableYaml(value);
        assert.deepEqual(parseYaml(text), value, `1.2 reading of:\n${text}`);
        assert.deepEqual(parseYaml(text, { version: '1.1', merge: true }), value, `1.1 reading of:\n${text}`);
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
});
