// dotenv files that mean the same to `set -a; . ./app.env` in sh and to a dotenv
// parser (dotenv's default and `fast` parsers alike). Keys become [A-Z_][A-Z0-9_]*;
// two keys that land on one name are refused, and so are names that would change how
// programs run (isDangerousEnvName below; docs/files.md). A value with a newline is
// refused unless the file opts in (`multiline`): line-based readers (docker --env-file,
// kubectl --from-env-file) would read its next line as a variable. Each value gets the one quoting
// both readers take literally:
//   'single quotes' when it has no ' and does not end in \ (newlines, $, ", #, \ and
//     unicode survive; a final \ would read as an escaped closing quote to dotenv, which
//     then runs on into the next line and can inject another variable);
//   "double quotes" when it has a ' but none of " $ ` \ (which sh would interpret);
// anything else (and NUL, and \r, which dotenv normalises away) cannot be written for
// both readers, and is refused with the key named — never the value.

import { RenderError } from '../errors.ts';

/**
 * Which variable names a configuration key may not set (docs/files.md, "Refused names").
 * A list of names is never complete, so the rule is by family: a name is refused when it
 * belongs to a program that reads its environment to decide what code to load, which
 * files to read as configuration, what to trust or where to send traffic — the shell,
 * the dynamic linker and C library, every interpreter, runtime and toolchain a container
 * image commonly holds, TLS libraries, proxies and cloud SDK configuration. Families are
 * matched by prefix (by suffix for launcher options); a few well-known names
 * that fit no family are listed exactly. Names are compared upper-cased, as envKey
 * makes them. A user who needs such a word in a key sets the file's `prefix` ("APP_").
 */
const DANGEROUS_PREFIXES: readonly string[] = [
  // dynamic linker (glibc, musl, macOS), C library tunables and allocators
  'LD_',
  'DYLD_',
  'GLIBC_',
  'MALLOC_',
  'GCONV_',
  // shells: bash reads BASH_ENV, BASH_XTRACEFD, exported functions BASH_FUNC_*
  'BASH_',
  'ZSH_',
  // interpreters and runtimes, each with its own startup hooks and search paths
  'PYTHON',
  'PIP_',
  'PERL',
  'RUBY',
  'GEM_',
  'BUNDLE_',
  'LUA_',
  'NODE_',
  'NPM_',
  'YARN_',
  'COREPACK_',
  'JAVA_',
  '_JAVA_',
  'JDK_',
  'CATALINA_',
  'MAVEN_',
  'GRADLE_',
  'DOTNET_',
  'CORECLR_',
  'COMPLUS_',
  'COR_',
  'PHP_',
  'R_',
  'TCL',
  'TK_',
  'CARGO_',
  'RUST',
  // tools that run helpers or read configuration from their environment
  'GIT_',
  'SSH_',
  'LESS',
  'XDG_',
  'KRB5',
  'DOCKER_',
  // TLS libraries and trust stores
  'OPENSSL_',
  'SSL_',
  'GNUTLS_',
  'CURL_',
  // cloud SDK configuration: credential files, endpoints, CA bundles
  'AWS_',
  'CLOUDSDK_',
];
/**
 * Family by suffix: launcher options. JVM start scripts read JAVA_OPTS, CATALINA_OPTS and
 * `<APPNAME>_OPTS` (Gradle's application plugin), so a name ending in _OPTS is refused
 * even behind a prefix.
 */
const DANGEROUS_SUFFIXES: readonly string[] = ['_OPTS'];
const DANGEROUS_NAMES: ReadonlySet<string> = new Set(
  [
    // shells (sh, bash, dash, ksh, zsh)
    'PATH HOME SHELL ENV IFS PS1 PS2 PS3 PS4 CDPATH PROMPT_COMMAND SHELLOPTS BASHOPTS GLOBIGNORE HISTFILE MAIL MAILPATH TMPDIR ZDOTDIR FPATH',
    // C library: name resolution, locales, messages
    'HOSTALIASES LOCALDOMAIN RES_OPTIONS NLSPATH TZDIR LOCPATH',
    // runtimes whose variables have no common prefix
    'CLASSPATH GOFLAGS GODEBUG GOROOT GOPATH GOPROXY GOTOOLCHAIN GOENV GOINSECURE GONOSUMDB GOPRIVATE PHPRC VIRTUAL_ENV',
    // programs other tools run on the user's behalf
    'EDITOR VISUAL PAGER MANPAGER BROWSER SUDO_ASKPASS TERMINFO',
    // trust, key logs and credentials files
    'SSLKEYLOGFILE REQUESTS_CA_BUNDLE KUBECONFIG GOOGLE_APPLICATION_CREDENTIALS AZURE_CONFIG_DIR',
    // proxies: where traffic goes
    'HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY FTP_PROXY GRPC_PROXY WS_PROXY WSS_PROXY RSYNC_PROXY',
  ].flatMap((names) => names.split(' ')),
);

/**
 * Names inside a refused family that only select a mode or a region and load nothing;
 * common enough in app configuration that refusing them would push every user to `prefix`.
 */
const INERT_NAMES: ReadonlySet<string> = new Set([
  'NODE_ENV',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'PYTHONUNBUFFERED',
  'PYTHONDONTWRITEBYTECODE',
]);

export function isDangerousEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  if (INERT_NAMES.has(upper)) return false;
  return (
    DANGEROUS_NAMES.has(upper) ||
    DANGEROUS_PREFIXES.some((prefix) => upper.startsWith(prefix)) ||
    DANGEROUS_SUFFIXES.some((suffix) => upper.endsWith(suffix))
  );
}

export function envKey(key: string): string {
  const safe = key.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return /^[0-9]/.test(safe) ? `_${safe}` : safe;
}

export type EnvOptions = {
  /** Put before every name ("APP_"), so keys can never land on a refused name. */
  readonly prefix?: string | undefined;
  /** Allow values with a newline: fine for sh and dotenv, but a line-based reader (docker --env-file) reads the next line as a variable. */
  readonly multiline?: boolean | undefined;
};

function quote(file: string, key: string, value: string, multiline: boolean): string {
  if (value.includes('\0')) throw new RenderError(file, `key "${key}": NUL cannot be stored in an environment variable`);
  if (value.includes('\r'))
    throw new RenderError(
      file,
      `key "${key}": a carriage return does not survive dotenv parsers (they normalise line endings); use json or yaml`,
    );
  if (!multiline && value.includes('\n'))
    throw new RenderError(
      file,
      `key "${key}": a value with a newline is refused unless the file sets "multiline": true (a line-based reader such as docker --env-file would read the next line as another variable); docs/files.md`,
    );
  if (!value.includes("'") && !value.endsWith('\\')) return `'${value}'`;
  if (!/["$`\\]/.test(value)) return `"${value}"`;
  throw new RenderError(
    file,
    value.includes("'")
      ? `key "${key}": a value with both ' and one of " $ \` \\ has no quoting that sh and dotenv read alike; use json or yaml`
      : `key "${key}": a value ending in \\ has no quoting that sh and dotenv read alike (dotenv reads \\' as an escaped quote); use json or yaml`,
  );
}

export function renderEnv(file: string, source: unknown, options: EnvOptions = {}): string {
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    throw new RenderError(file, 'env format needs a namespace or an object value');
  }
  const lines = new Map<string, { key: string; line: string }>();
  for (const [key, value] of Object.entries(source)) {
    const name = envKey(`${options.prefix ?? ''}${key}`);
    if (isDangerousEnvName(name)) {
      throw new RenderError(
        file,
        `key "${key}" would set ${name}, which changes how programs in the container run; set the file's "prefix" (e.g. "APP_"), rename the key, or use json or yaml (refused names: docs/files.md)`,
      );
    }
    const clash = lines.get(name);
    if (clash) throw new RenderError(file, `keys "${clash.key}" and "${key}" both become ${name}`);
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    lines.set(name, { key, line: `${name}=${quote(file, key, text, options.multiline === true)}` });
  }
  return [...lines.keys()]
    .sort()
    .map((name) => `${lines.get(name)!.line}\n`)
    .join('');
}
