import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseProperties } from 'dot-properties';
import { parse as parseYaml } from 'yaml';
import { renderEnv, envKey } from '../../src/files/format-env.ts';
import { renderProperties } from '../../src/files/format-properties.ts';
import { compileTemplate } from '../../src/files/format-template.ts';
import { RenderError } from '../../src/errors.ts';
import { renderFiles } from '../../src/files/render.ts';
import { ConfigStore } from '../../src/sync/store.ts';

const HOSTILE: Record<string, string> = {
  newline: 'line one\nline two\n\nline four\n',
  double_quotes: 'say "hi"',
  equals: 'a=b=c',
  hash: '# not a comment # at all',
  dollar_brace: '${HOME} and $HOME and $(id) and `id`',
  backslash: 'C:\\path\\n\\t',
  unicode: 'héllo wörld — 日本語 — 🚀',
  long: 'x'.repeat(100_000),
  spaces: '  padded  ',
  empty: '',
  single_quote: "it's fine",
  single_and_newline: "it's\nmulti",
};

const roundTripValues = { ...HOSTILE, number: 42, object: { nested: [1, 'two', null] }, bool: false };
/** Not representable in .env (dotenv normalises \r\n), so only for the other formats. */
const CRLF = { crlf: 'windows\r\nline' };

test('json and yaml: hostile values parse back equal', () => {
  const store = new ConfigStore(['ns']);
  store.replaceNamespaces(
    new Map([
      [
        'ns',
        Object.entries({ ...roundTripValues, ...CRLF, nul: 'a\0b' }).map(([key, value], i) => ({
          id: String(i),
          namespace: 'ns',
          key,
          value,
          environment: 'development',
          version: 1,
        })),
      ],
    ]),
  );
  const specs = [
    { name: 'a.json', namespace: 'ns', format: 'json' as const, mode: 0o440 },
    { name: 'a.yaml', namespace: 'ns', format: 'yaml' as const, mode: 0o440 },
  ];
  const { payload, errors } = renderFiles(store.view, specs);
  assert.deepEqual(errors, []);
  const expected = { ...roundTripValues, ...CRLF, nul: 'a\0b' };
  assert.deepEqual(JSON.parse(String(payload.get('a.json')!.content)), expected);
  assert.deepEqual(parseYaml(String(payload.get('a.yaml')!.content)), expected);
});

test('env: the same values for dotenv and for `set -a; . file` in sh', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llmc-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = renderEnv('app.env', roundTripValues);
  const file = join(dir, 'app.env');
  writeFileSync(file, text);
  const expected = Object.fromEntries(
    Object.entries(roundTripValues).map(([k, v]) => [envKey(k), typeof v === 'string' ? v : JSON.stringify(v)]),
  );
  const fromDotenv = parseDotenv(text);
  assert.deepEqual(Object.keys(fromDotenv).sort(), Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected))
    assert.ok(fromDotenv[key] === value, `dotenv ${key}: ${JSON.stringify(fromDotenv[key])?.slice(0, 80)}`);
  const out = execFileSync('sh', ['-c', 'set -a; . "$1"; env -0', 'sh', file], { env: {}, maxBuffer: 16 << 20 }).toString();
  const fromShell = Object.fromEntries(
    out
      .split('\0')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  for (const [key, value] of Object.entries(expected))
    assert.ok(fromShell[key] === value, `sh ${key}: ${JSON.stringify(fromShell[key])?.slice(0, 80)}`);
});

test('env: keys made safe, collisions and unrepresentable values refused with the key named', () => {
  assert.equal(envKey('max-tokens'), 'MAX_TOKENS');
  assert.equal(envKey('1st.key'), '_1ST_KEY');
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ 'a-b': 1, 'a.b': 2 }, /keys "a-b" and "a.b" both become A_B/],
    [{ k: 'a\0b' }, /key "k": NUL cannot be stored/],
    [CRLF, /key "crlf": a carriage return does not survive dotenv/],
    [{ k: "it's $5" }, /key "k": a value with both ' and one of/],
  ];
  for (const [source, message] of cases) {
    assert.throws(
      () => renderEnv('app.env', source),
      (e: unknown) => e instanceof RenderError && e.code === 'LLMC_ERR_RENDER' && message.test(e.message),
    );
  }
  assert.throws(() => renderEnv('app.env', 'scalar'), /env format needs a namespace or an object value/);
});

test('properties: hostile keys and values parse back equal with a real .properties parser', () => {
  const source = { ...roundTripValues, ...CRLF, 'key with spaces': 'v', 'k=e:y#!': ' leading space', ünïcode: 'x', nul: 'a\0b' };
  const text = renderProperties(source);
  assert.match(text, /^[\x20-\x7e\n]*$/, 'pure printable ASCII');
  const expected = Object.fromEntries(Object.entries(source).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  assert.deepEqual(parseProperties(text), expected);
});

test('templates: strict, helpers, no prototype access', () => {
  const context = { model: 'gpt-4o', tags: ['a', 'b'], routing: { primary: 'openai' }, secret: 'p@ss' };
  assert.equal(compileTemplate('model={{model}} first={{tags.[0]}} p={{routing.primary}}')(context), 'model=gpt-4o first=a p=openai');
  assert.equal(
    compileTemplate('{{json routing}}|{{base64 secret}}|{{default missing "fallback"}}')(context),
    '{"primary":"openai"}|cEBzcw==|fallback',
  );
  assert.equal(compileTemplate('{{yaml routing}}')(context), 'primary: openai');
  assert.equal(compileTemplate('<{{model}}&>')({ model: '"a<b"' }), '<"a<b"&>', 'no HTML escaping');
  assert.throws(() => compileTemplate('x={{missing}}')(context), /"missing" not defined/);
  assert.equal(compileTemplate('{{constructor}}{{__proto__}}')(context), '');
  assert.throws(() => compileTemplate('{{#if}}'), /template does not parse/);
});

test('a file that fails to render is reported; the others still render', () => {
  const store = new ConfigStore(['ns']);
  store.replaceNamespaces(
    new Map([['ns', [{ id: '1', namespace: 'ns', key: 'model', value: 'x', environment: 'development', version: 1 }]]]),
  );
  const { payload, errors } = renderFiles(store.view, [
    { name: 'ok.txt', namespace: 'ns', key: 'model', format: 'raw', mode: 0o440 },
    { name: 'missing.txt', namespace: 'ns', key: 'nope', format: 'raw', mode: 0o440 },
    { name: 'tpl.conf', namespace: 'ns', format: 'template', mode: 0o440, template: compileTemplate('{{absent}}') },
  ]);
  assert.deepEqual([...payload.keys()], ['ok.txt']);
  assert.equal(payload.get('ok.txt')!.content, 'x');
  assert.deepEqual(
    errors.map((e) => [e.code, e.file]),
    [
      ['LLMC_ERR_RENDER', 'missing.txt'],
      ['LLMC_ERR_RENDER', 'tpl.conf'],
    ],
  );
});
