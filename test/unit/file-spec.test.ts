import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFileSpecs } from '../../src/files/file-spec.ts';
import { InvalidSettingError } from '../../src/errors.ts';
import { tempDir } from '../helpers/cli-process.ts';

const NS = ['ml-service', 'team', 'team/ml'];
const load = (specs: unknown) => loadFileSpecs(JSON.stringify(specs), NS, 0o440);
const plain = (specs: Awaited<ReturnType<typeof load>>) =>
  specs.map(({ template, ...rest }) => ({ ...rest, template: template ? 'compiled' : undefined }));

test('the spec example from SPEC §6, with formats inferred and sources resolved', async () => {
  const specs = await load([
    { name: 'app.env', source: 'ml-service', format: 'env' },
    { name: 'model.txt', source: 'ml-service/model', format: 'raw', mode: '0400' },
    { name: 'app.conf', source: 'ml-service', template: 'model={{model}}' },
    { name: 'owner.yaml', source: 'team/ml/owner' },
    { name: 'team.properties', source: 'team' },
    { name: 'x', source: 'team/x' },
  ]);
  assert.deepEqual(plain(specs), [
    { name: 'app.env', namespace: 'ml-service', key: undefined, format: 'env', mode: 0o440, template: undefined },
    { name: 'model.txt', namespace: 'ml-service', key: 'model', format: 'raw', mode: 0o400, template: undefined },
    { name: 'app.conf', namespace: 'ml-service', key: undefined, format: 'template', mode: 0o440, template: 'compiled' },
    { name: 'owner.yaml', namespace: 'team/ml', key: 'owner', format: 'yaml', mode: 0o440, template: undefined },
    { name: 'team.properties', namespace: 'team', key: undefined, format: 'properties', mode: 0o440, template: undefined },
    { name: 'x', namespace: 'team', key: 'x', format: 'raw', mode: 0o440, template: undefined },
  ]);
});

test('@path reads JSON or YAML', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'files.yaml'), '- name: app.env\n  source: ml-service\n');
  const specs = await loadFileSpecs(`@${join(dir, 'files.yaml')}`, NS, 0o440);
  assert.equal(specs[0]!.format, 'env');
});

test('every bad entry is refused naming the entry and what is accepted', async () => {
  const cases: Array<[unknown, string]> = [
    [
      [{ name: '../etc/passwd', source: 'team' }],
      'entry 1 ("../etc/passwd"): name must be a plain file name: no "/", no leading ".", at most 255 bytes',
    ],
    [[{ name: '.hidden', source: 'team' }], 'entry 1 (".hidden"): name must be a plain file name'],
    [[{ name: 'a'.repeat(256), source: 'team' }], 'name must be a plain file name'],
    [[{ name: 'a\u0000b', source: 'team' }], 'name must be a plain file name'],
    [
      [{ name: 'a.xml', source: 'team', format: 'xml' }],
      'entry 1 ("a.xml"): format "xml" is not one of json, yaml, env, properties, raw (or give a template)',
    ],
    [
      [{ name: 'a', source: 'other' }],
      'entry 1 ("a"): source "other" is not a synced namespace or namespace/key (synced: ml-service, team, team/ml)',
    ],
    [[{ name: 'a', source: 'team/' }], 'source "team/" is not a synced namespace'],
    [
      [
        { name: 'a', source: 'team' },
        { name: 'a', source: 'team/ml' },
      ],
      'two files are named "a"',
    ],
    [[{ name: 'a', source: 'team', colour: 'red' }], 'unknown field "colour"'],
    [[{ name: 'a', source: 'team', mode: 440 }], 'mode 440 is not an octal file mode in quotes, such as "0440"'],
    [[{ name: 'a', source: 'team', format: 'json', template: 'x' }], 'give either a format or a template, not both'],
    [[{ name: 'a', source: 'team', template: '{{#if}}' }], 'template does not parse'],
    [[], 'a non-empty array of files'],
    ['not json', 'a JSON array of files'],
  ];
  for (const [input, message] of cases) {
    const text = typeof input === 'string' ? input : JSON.stringify(input);
    await assert.rejects(loadFileSpecs(text, NS, 0o440), (error: unknown) => {
      assert.ok(error instanceof InvalidSettingError);
      assert.equal(error.setting, '--files');
      assert.ok(error.message.includes(message), `${error.message}\n  should include\n${message}`);
      return true;
    });
  }
});
