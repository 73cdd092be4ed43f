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
    // the whole parse error on one line, not cut at "Parse error on line 1:"
    [
      [{ name: 'a', source: 'team', template: 'a\nb {{x' }],
      'entry 1 ("a"): template line 2 does not parse near "ab {{x": expected ID, STRING, NUMBER, BOOLEAN, UNDEFINED, NULL, DATA; got INVALID',
    ],
    [
      [{ name: 'a', source: 'team', template: '{{#a}}{{/b}}' }],
      'entry 1 ("a"): template line 1, column 4 does not parse: a doesn\'t match b',
    ],
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

// H2b items 2 and 3: per-file env options; item 1: a refused template helper names the file and position.
test('env files take prefix and multiline; other formats and bad values are refused naming the field', async () => {
  const specs = await load([
    { name: 'app.env', source: 'ml-service', prefix: 'APP_', multiline: true },
    { name: 'b.env', source: 'ml-service', multiline: 'false' },
  ]);
  assert.equal(specs[0]!.prefix, 'APP_');
  assert.equal(specs[0]!.multiline, true);
  assert.equal(specs[1]!.multiline, false);
  for (const [entry, message] of [
    [{ name: 'a.json', source: 'ml-service', prefix: 'APP_' }, /entry 1 \("a.json"\): prefix applies to the env format only/],
    [{ name: 'a.env', source: 'ml-service', prefix: '1X' }, /entry 1 \("a.env"\): prefix must be a variable name start/],
    [{ name: 'a.env', source: 'ml-service', prefix: 'A-B' }, /prefix must be a variable name start/],
    [{ name: 'a.env', source: 'ml-service', multiline: 'yes' }, /multiline must be true or false/],
    [
      { name: 'a.conf', source: 'ml-service', template: 'x\n{{log password}}' },
      /entry 1 \("a.conf"\): template line 2, column 1: helper "log" is not available/,
    ],
    [{ name: 'a.conf', source: 'ml-service', template: '{{> p}}' }, /entry 1 \("a.conf"\): template line 1, column 1: partials/],
  ] as const) {
    await assert.rejects(load([entry]), (e: unknown) => e instanceof InvalidSettingError && message.test(e.message), String(message));
  }
});

// H2b item 11: group mode accepted modes no app (or not even the agent) can read.
test('file modes: no owner read is refused at start naming file and mode; no group read in group mode warns once', async () => {
  const { checkFileModes } = await import('../../src/files/file-spec.ts');
  const { testLogger } = await import('../helpers/test-logger.ts');
  const specs = await load([
    { name: 'a.json', source: 'ml-service', mode: '0400' },
    { name: 'b.json', source: 'ml-service', mode: '0440' },
    { name: 'c.json', source: 'ml-service', mode: '0600' },
  ]);
  const { logger, lines } = testLogger();
  checkFileModes(specs, 'group', '--files', logger);
  const warnings = lines.filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1, 'one warning at start, for all such files');
  assert.deepEqual(warnings[0]!.files, ['a.json 0400', 'c.json 0600']);
  assert.match(String(warnings[0]!.msg), /only the agent uid can read these files/);
  const quiet = testLogger();
  checkFileModes(specs, 'all', '--files', quiet.logger);
  assert.equal(quiet.lines.filter((l) => l.level === 'warn').length, 0, 'readable-by all adds read for everyone');
  for (const readableBy of ['group', 'all'] as const) {
    const refused = await load([{ name: 'w.json', source: 'ml-service', mode: '0200' }]);
    assert.throws(() => checkFileModes(refused, readableBy, '--files', logger), {
      code: 'LLMC_ERR_INVALID_SETTING',
      message:
        '--files=w.json: 0200: a mode with owner read (0400 set), such as "0440": without it not even the agent can read the file "w.json"',
    });
  }
});

test('webhook annotations file-<name>-prefix and file-<name>-multiline reach the entry; a bad one names its annotation', async () => {
  const { filesFromAnnotations, checkFileEntries } = await import('../../webhook/file-annotations.ts');
  const { PREFIX } = await import('../../webhook/annotations.ts');
  const entries = filesFromAnnotations(
    { [`${PREFIX}file-app.env`]: 'ml-service', [`${PREFIX}file-app.env-prefix`]: 'APP_', [`${PREFIX}file-app.env-multiline`]: 'true' },
    {},
  )!;
  assert.deepEqual(entries, [{ name: 'app.env', source: 'ml-service', prefix: 'APP_', multiline: 'true' }]);
  checkFileEntries(entries, NS);
  assert.throws(
    () => checkFileEntries([{ name: 'app.env', source: 'ml-service', prefix: '9' }], NS),
    (e: unknown) => e instanceof InvalidSettingError && e.setting === `${PREFIX}file-app.env-prefix`,
  );
});
