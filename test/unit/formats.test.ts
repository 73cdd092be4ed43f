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
import { ConfigStore } from '../../src/store/config-store.ts';

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
  assert.deepEqual(parseYaml(String(payload.get('a.yaml')!.content), { version: '1.1' }), expected, 'and as YAML 1.1');
});

/** Strings a YAML 1.1 reader (PyYAML, go-yaml v2) takes for booleans, dates, numbers, merge or value keys. */
const YAML_11_TRAPS = [
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  '2001-01-01',
  '2001-12-14t21:59:43.10-05:00',
  '1_000',
  '1:20',
  '190:20:30.15',
  '0b101',
  '017',
  '0o14',
  '0x1F',
  '=',
  '<<',
  '~',
  'null',
  '.inf',
  '-.Inf',
  '.NaN',
  '1e3',
  '+12',
  '0.',
  'true',
  'False',
];

// H2b item 7: the yaml format reads back the same as YAML 1.2 and YAML 1.1.
test('yaml: strings that YAML 1.1 or 1.2 would read as something else are quoted (values and keys)', (t) => {
  const value = Object.fromEntries(YAML_11_TRAPS.map((s, i) => [s, { [`v${i}`]: s, list: [s] }]));
  const store = new ConfigStore(['ns']);
  store.replaceNamespaces(
    new Map([
      ['ns', Object.entries(value).map(([key, v], i) => ({ id: String(i), namespace: 'ns', key, value: v, environment: 'e', version: 1 }))],
    ]),
  );
  const { payload, errors } = renderFiles(store.view, [{ name: 'a.yaml', namespace: 'ns', format: 'yaml' as const, mode: 0o440 }]);
  assert.deepEqual(errors, []);
  const text = String(payload.get('a.yaml')!.content);
  assert.deepEqual(parseYaml(text), value);
  assert.deepEqual(parseYaml(text, { version: '1.1', merge: true }), value);
  assert.equal(compileTemplate('{{yaml this}}')({ k: 'yes', '1:20': ['on'] }), '"k": "yes"\n"1:20":\n  - "on"'.replace('"k"', 'k'));
  // PyYAML's safe_load, the reader of most Python apps, when the machine has it
  let python: Record<string, unknown> | undefined;
  try {
    python = JSON.parse(
      execFileSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], {
        input: text,
      }).toString(),
    );
  } catch {
    t.diagnostic('python3 with PyYAML not available: the PyYAML reading was skipped');
  }
  if (python !== undefined) assert.deepEqual(python, value, 'PyYAML safe_load');
});

test('env: the same values for dotenv and for `set -a; . file` in sh', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llmc-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = renderEnv('app.env', roundTripValues, { multiline: true });
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
  assert.throws(() => compileTemplate('x={{missing}}')(context, 'a.conf'), {
    code: 'LLMC_ERR_RENDER',
    message: 'a.conf: template line 1, column 5: "missing" is not defined',
  });
  assert.equal(compileTemplate('{{constructor}}{{__proto__}}')(context), '');
  assert.throws(
    () => compileTemplate('{{#if}}'),
    /template line 1 does not parse near "\{\{#if\}\}": expected .*OPEN_ENDBLOCK.*; got EOF$/,
  );
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

// Every kind of template failure, each over data holding a secret: the message names the
// file, the position and the kind, and no piece of the data.
const SECRET = 'S3CR3T-value-0b9e';
const secretData = { password: SECRET, list: [SECRET, `${SECRET}-2`], nested: { inner: SECRET }, n: 5, flag: true };

test('template render errors name file, position and kind, never a value', () => {
  const cases: Array<[string, string]> = [
    ['pw={{password.x}}', 'f.conf: template line 1, column 6: "password.x": "password" is a string, not an object with keys'],
    ['l={{list.x}}', 'f.conf: template line 1, column 5: "list.x" is not defined'],
    ['{{nested.absent}}', 'f.conf: template line 1, column 3: "nested.absent" is not defined'],
    ['line one\n  {{missing}}', 'f.conf: template line 2, column 5: "missing" is not defined'],
    ['{{n.x}}', 'f.conf: template line 1, column 3: "n.x": "n" is a number, not an object with keys'],
    ['{{#if flag}}{{flag.x}}{{/if}}', 'f.conf: template line 1, column 15: "flag.x": "flag" is a boolean, not an object with keys'],
    ['{{#with password}}{{x}}{{/with}}', 'f.conf: template line 1, column 21: "x": the context here is a string, not an object with keys'],
    [
      '{{#each list}}\n{{this.x}}{{/each}}',
      'f.conf: template line 2, column 3: "this.x": the context here is a string, not an object with keys',
    ],
    [
      '{{#if flag}}ok{{else}}{{password.y}}{{/if}}{{n.z}}',
      'f.conf: template line 1, column 46: "n.z": "n" is a number, not an object with keys',
    ],
    ['{{#nested}}{{zz}}{{/nested}}', 'f.conf: template line 1, column 14: "zz" is not defined'],
  ];
  for (const [source, message] of cases) {
    assert.throws(
      () => compileTemplate(source)(secretData, 'f.conf'),
      (e: unknown) => {
        assert.ok(e instanceof RenderError, `${source}: ${String(e)}`);
        assert.equal(e.code, 'LLMC_ERR_RENDER');
        assert.equal(e.message, message, source);
        assert.equal(e.cause, undefined, 'the library error (which quotes the data) is not kept as a cause');
        return true;
      },
    );
  }
});

test('render errors of every kind through renderFiles carry no value', () => {
  const store = new ConfigStore(['vault']);
  const values = { password: SECRET, list: [SECRET], quoted: `it's $${SECRET}`, trailing: `${SECRET}\\`, path: SECRET };
  store.replaceNamespaces(
    new Map([
      [
        'vault',
        Object.entries(values).map(([key, value], i) => ({
          id: String(i),
          namespace: 'vault',
          key,
          value,
          environment: 'development',
          version: 1,
        })),
      ],
    ]),
  );
  const template = (name: string, source: string) => ({
    name,
    namespace: 'vault',
    format: 'template' as const,
    mode: 0o440,
    template: compileTemplate(source),
  });
  const { errors } = renderFiles(store.view, [
    template('a.conf', 'pw={{password.x}}'),
    template('b.conf', '{{list.x}}'),
    template('c.conf', '{{#with password}}{{x}}{{/with}}'),
    template('d.conf', '{{nope}}'),
    { name: 'e.env', namespace: 'vault', format: 'env', mode: 0o440 },
    { name: 'f.txt', namespace: 'vault', key: 'gone', format: 'raw', mode: 0o440 },
    { name: 'g.env', namespace: 'vault', key: 'password', format: 'env', mode: 0o440 },
  ]);
  assert.equal(errors.length, 7);
  for (const error of errors) {
    assert.equal(error.code, 'LLMC_ERR_RENDER');
    assert.ok(!error.message.includes(SECRET), error.message);
    assert.ok(error.message.startsWith(`${error.file}: `), error.message);
  }
});

test("env: a value ending in a backslash is refused by key name (dotenv reads \\' as an escaped quote)", () => {
  // The pair: dotenv ran path_prefix on into the next line and read API_BASE from prompt.
  assert.throws(() => renderEnv('app.env', { path_prefix: 'C:\\models\\', prompt: '# x\nAPI_BASE=https://evil.example\n' }), {
    code: 'LLMC_ERR_RENDER',
    message:
      'app.env: key "path_prefix": a value ending in \\ has no quoting that sh and dotenv read alike (dotenv reads \\\' as an escaped quote); use json or yaml',
  });
  assert.equal(renderEnv('app.env', { p: 'C:\\models\\x' }), "P='C:\\models\\x'\n", 'a backslash elsewhere is fine');
});

test('env: keys that would become dangerous variables are refused by name', () => {
  for (const key of [
    'path',
    'PATH',
    'ld_preload',
    'LD-LIBRARY-PATH',
    'node_options',
    'bash_env',
    'env',
    'ifs',
    'ps4',
    'https_proxy',
    'dyld_insert_libraries',
    'BASH_FUNC_x%%',
  ]) {
    assert.throws(
      () => renderEnv('app.env', { [key]: 'x' }),
      (e: unknown) => e instanceof RenderError && e.message.startsWith(`app.env: key "${key}" would set `),
      key,
    );
  }
  assert.equal(
    renderEnv('app.env', { path_prefix: 'x', model_path: 'y', home_page: 'z' }),
    "HOME_PAGE='z'\nMODEL_PATH='y'\nPATH_PREFIX='x'\n",
  );
});

// H2b item 1: Handlebars built-ins beyond the documented helpers are refused at compile time.
test('templates: log, partials, decorators and undocumented helpers are refused at compile time, by position', () => {
  const refused: Array<[string, RegExp]> = [
    ['{{log password}}', /^template line 1, column 1: helper "log" is not available/],
    ["x\n  {{log password level='error'}}", /^template line 2, column 3: helper "log" is not available/],
    ['{{#each list}}{{log this}}{{/each}}', /^template line 1, column 15: helper "log" is not available/],
    ['{{log}}', /^template line 1, column 1: helper "log" is not available/],
    ['{{json (log password)}}', /^template line 1, column 8: helper "log" is not available/],
    ['{{> password}}', /^template line 1, column 1: partials \(\{\{> …\}\}\) are not supported/],
    ['{{> (lookup . "p")}}', /^template line 1, column 1: partials/],
    ['{{#> layout}}x{{/layout}}', /^template line 1, column 1: partials/],
    ['{{#* inline "p"}}x{{/inline}}', /^template line 1, column 1: decorators .* are not supported/],
    ['{{* deco}}', /^template line 1, column 1: decorators/],
    ['{{unknownHelper password}}', /^template line 1, column 1: helper "unknownHelper" is not available/],
    ['{{password password}}', /^template line 1, column 1: helper "password" is not available/],
    ['{{helperMissing x}}', /^template line 1, column 1: helper "helperMissing" is not available/],
    ['{{blockHelperMissing x}}', /^template line 1, column 1: helper "blockHelperMissing" is not available/],
    ['{{#log x}}y{{/log}}', /^template line 1, column 1: helper "log" is not available/],
    ['{{#nope x}}y{{/nope}}', /^template line 1, column 1: helper "nope" is not available/],
    ['{{json}}', /^template line 1, column 1: helper "json" needs an argument/],
  ];
  for (const [source, message] of refused) {
    assert.throws(() => compileTemplate(source), { message }, source);
  }
  // the documented ones still compile and render
  const context = { password: 'S3CR3T', list: ['a'], obj: { k: 'v' } };
  assert.equal(
    compileTemplate(
      '{{#each list}}{{this}}{{/each}}{{#with obj}}{{k}}{{/with}}{{#if obj}}y{{/if}}{{#unless nope}}n{{/unless}}{{lookup obj "k"}}{{#obj}}{{k}}{{/obj}}',
    )(context),
    'avynvv',
  );
});

test('templates: the log helper cannot print a secret even through the engine', () => {
  const seen: unknown[] = [];
  const original = console.log;
  const originalError = console.error;
  console.log = (...args: unknown[]) => seen.push(args);
  console.error = (...args: unknown[]) => seen.push(args);
  try {
    for (const source of ['{{log password}}', "{{log password level='error'}}", '{{#each list}}{{log this}}{{/each}}']) {
      try {
        compileTemplate(source)({ password: 'S3CR3T', list: ['S3CR3T'] });
      } catch {}
    }
  } finally {
    console.log = original;
    console.error = originalError;
  }
  assert.deepEqual(seen, []);
});

// H2b item 10: lookup and #with of a missing key are render errors; #if/#unless of one is a test.
test('templates: lookup and #with/#each of a missing key are render errors; #if of one is a test', () => {
  const context = { obj: { k: 'v' }, list: [] };
  for (const [source, message] of [
    ['{{lookup . "nope"}}', 'a.conf: template line 1, column 1: lookup: the key it looks up is not defined'],
    ['x{{lookup obj "nope"}}', 'a.conf: template line 1, column 2: lookup: the key it looks up is not defined'],
    ['{{#with nope}}x{{/with}}', 'a.conf: template line 1, column 1: #with: its argument is not defined'],
    ['{{#each nope}}x{{/each}}', 'a.conf: template line 1, column 1: #each: its argument is not defined'],
  ] as const) {
    assert.throws(() => compileTemplate(source)(context, 'a.conf'), { code: 'LLMC_ERR_RENDER', message }, source);
  }
  assert.equal(compileTemplate('{{#if nope}}y{{else}}n{{/if}}{{#unless nope}}u{{/unless}}')(context), 'nu');
  assert.equal(compileTemplate('{{#each list}}x{{else}}empty{{/each}}{{#with obj}}{{k}}{{/with}}')(context), 'emptyv');
  assert.equal(compileTemplate('{{default nope "d"}}')(context), 'd');
});

test('env: the few inert names inside refused families (NODE_ENV, AWS_REGION, …) are written as they are', () => {
  const inert = {
    node_env: 'production',
    AWS_REGION: 'eu-west-1',
    aws_default_region: 'eu-west-1',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  assert.equal(
    renderEnv('app.env', inert),
    "AWS_DEFAULT_REGION='eu-west-1'\nAWS_REGION='eu-west-1'\nNODE_ENV='production'\nPYTHONDONTWRITEBYTECODE='1'\nPYTHONUNBUFFERED='1'\n",
  );
  assert.throws(() => renderEnv('app.env', { NODE_ENVIRONMENT_HOOK: 'x' }), RenderError);
});

// H2b item 2: names are refused by family (prefix/suffix), case-insensitively; a per-file prefix namespaces keys.
test('env: variables that run code or redirect tools are refused by family, whatever the case; a prefix makes them safe', () => {
  const reported = [
    'PYTHONUSERBASE',
    'DOTNET_STARTUP_HOOKS',
    'CORECLR_PROFILER',
    'CORECLR_ENABLE_PROFILING',
    'PHPRC',
    'PHP_INI_SCAN_DIR',
    'LUA_INIT',
    'LUA_PATH',
    'R_PROFILE',
    'TCLLIBPATH',
    'PERL5DB',
    'GIT_SSH_COMMAND',
    'GIT_EXEC_PATH',
    'GIT_ASKPASS',
    'SSH_ASKPASS',
    'LESSOPEN',
    'NODE_REPL_EXTERNAL_MODULE',
    'OPENSSL_CONF',
    'OPENSSL_MODULES',
    'GLIBC_TUNABLES',
    'LOCPATH',
    'JAVA_OPTS',
    'CATALINA_OPTS',
    'NPM_CONFIG_PREFIX',
    'npm_config_registry',
    'AWS_CONFIG_FILE',
    'KUBECONFIG',
    'ZDOTDIR',
    'XDG_CONFIG_HOME',
    'SSLKEYLOGFILE',
    'NODE_V8_COVERAGE',
    'BASH_XTRACEFD',
    'COMPlus_EnableDiagnostics',
    'ruby-opt',
    'Python.Startup',
    'http_proxy',
    'MAVEN_OPTS',
    'ld_audit',
    'dyld_library_path',
    'JDK_JAVA_OPTIONS',
    '_JAVA_OPTIONS',
  ];
  for (const key of reported) {
    assert.throws(
      () => renderEnv('app.env', { [key]: 'x' }),
      (e: unknown) =>
        e instanceof RenderError && e.message.startsWith(`app.env: key "${key}" would set `) && e.message.includes('"prefix"'),
      key,
    );
    const name = `APP_${key.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
    if (name.endsWith('_OPTS')) {
      // start scripts read <APPNAME>_OPTS: refused behind a prefix too
      assert.throws(() => renderEnv('app.env', { [key]: 'x' }, { prefix: 'APP_' }), new RegExp(`would set ${name}`));
    } else assert.equal(renderEnv('app.env', { [key]: 'x' }, { prefix: 'APP_' }), `${name}='x'\n`);
  }
  // ordinary configuration keys stay as they are
  assert.equal(
    renderEnv('app.env', { model: 'm', api_base: 'b', github_token: 't', nodes: '3', path_prefix: 'p', max_tokens: '9' }),
    "API_BASE='b'\nGITHUB_TOKEN='t'\nMAX_TOKENS='9'\nMODEL='m'\nNODES='3'\nPATH_PREFIX='p'\n",
  );
  // a prefix that is itself a refused family does not help
  assert.throws(() => renderEnv('app.env', { preload: 'x' }, { prefix: 'LD_' }), /key "preload" would set LD_PRELOAD/);
});

// H2b item 3: line-based readers (docker --env-file, kubectl --from-env-file) must not see a newline inject a variable.
test('env: a value with a newline is refused by key name unless the file opts in with multiline', () => {
  const source = { prompt: 'hello\nAPI_BASE=https://evil.example', model: 'm' };
  assert.throws(() => renderEnv('app.env', source), {
    code: 'LLMC_ERR_RENDER',
    message:
      'app.env: key "prompt": a value with a newline is refused unless the file sets "multiline": true (a line-based reader such as docker --env-file would read the next line as another variable); docs/files.md',
  });
  assert.equal(renderEnv('app.env', source, { multiline: true }), "MODEL='m'\nPROMPT='hello\nAPI_BASE=https://evil.example'\n");
});
