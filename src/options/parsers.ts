// The one parser table. Every flag, environment variable and (later) annotation value
// is turned into a typed value by one of these; each throws InvalidValueError whose
// message says what is accepted, and the caller prefixes the setting's name.

import { constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import { InvalidValueError } from '../errors.ts';
import { parseDurationMs } from '../durations.ts';
import { canonicalEnvironment, ENVIRONMENT_CHOICES, type Environment } from '../environments.ts';

export type Parser<T> = {
  /** Placeholder shown in --help, e.g. DURATION. */
  readonly metavar: string;
  readonly parse: (raw: string) => T;
};

function reject(accepted: string): never {
  throw new InvalidValueError(accepted);
}

export const text: Parser<string> = {
  metavar: 'TEXT',
  parse: (raw) => (raw.length > 0 && !raw.includes('\0') ? raw : reject('must be non-empty text')),
};

export const path: Parser<string> = {
  metavar: 'PATH',
  parse: (raw) => (raw.length > 0 && !raw.includes('\0') ? raw : reject('must be a file system path')),
};

/** The longest delay setTimeout honours: above it Node fires the timer at once (with a warning). */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/** Durations are timers unless the caller says otherwise, so the default ceiling is TIMER_MAX_MS. */
export function duration(bounds: { min?: number; max?: number } = {}): Parser<number> {
  const { min = 0, max = TIMER_MAX_MS } = bounds;
  return {
    metavar: 'DURATION',
    parse(raw) {
      const ms = parseDurationMs(raw);
      if (ms === undefined) reject('not a duration (e.g. 30s, 5m, 1h30m, 250ms)');
      if (ms > max && max === TIMER_MAX_MS) reject(`at most ${max}ms (about 24 days: the longest timer Node can set)`);
      if (ms < min || ms > max) reject(`out of range (${min}ms to ${max}ms)`);
      return ms;
    },
  };
}

/** A duration, or "never"/"0" meaning no limit (Infinity). */
export const durationOrNever: Parser<number> = {
  metavar: 'DURATION|never',
  parse(raw) {
    if (raw === 'never' || raw === '0') return Number.POSITIVE_INFINITY;
    const ms = parseDurationMs(raw);
    if (ms === undefined) reject('not a duration (e.g. 5m, 1h) or "never"');
    return ms <= TIMER_MAX_MS ? ms : reject(`at most ${TIMER_MAX_MS}ms (about 24 days), or "never"`);
  },
};

export function integer(min: number, max: number): Parser<number> {
  return {
    metavar: 'N',
    parse(raw) {
      const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : reject(`not a whole number from ${min} to ${max}`);
    },
  };
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
export const boolean: Parser<boolean> = {
  metavar: 'BOOL',
  parse(raw) {
    const v = raw.toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    return reject('not a boolean (true or false)');
  },
};

export function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  return {
    metavar: choices.join('|'),
    parse: (raw) => (choices.includes(raw as T) ? (raw as T) : reject(`not one of ${choices.join(', ')}`)),
  };
}

export const environment: Parser<Environment> = {
  metavar: 'ENV',
  parse: (raw) => canonicalEnvironment(raw) ?? reject(`not an environment (${ENVIRONMENT_CHOICES}; case-insensitive)`),
};

export const httpUrl: Parser<URL> = {
  metavar: 'URL',
  parse(raw) {
    const url = URL.canParse(raw) ? new URL(raw) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) reject('not an http:// or https:// URL');
    if (url.username || url.password) reject('credentials in the URL are not accepted (use --token-file)');
    if (url.search || url.hash) reject('a URL without query or fragment');
    return url;
  },
};

export type ListenAddress = { readonly host: string; readonly port: number };
export const listenAddress: Parser<ListenAddress> = {
  metavar: 'HOST:PORT',
  parse(raw) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(raw);
    const port = m ? Number(m[3]) : -1;
    if (!m || port > 65535) reject('not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, port 0 picks a free port)');
    return { host: (m[1] ?? m[2])!, port };
  },
};

// Upstream keys and namespaces are free text; we accept what is safe in a URL path
// segment, a file name and a log line. `/` separates namespace levels.
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
export function isNamespaceName(raw: string): boolean {
  return raw.length <= 253 && raw.split('/').every((part) => NAME_PART.test(part) && part !== '..');
}
export const namespaceList: Parser<readonly string[]> = {
  metavar: 'NS[,NS…]',
  parse(raw) {
    const names = raw
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
    if (names.length === 0) reject('a comma-separated list of namespaces');
    for (const name of names) {
      if (!isNamespaceName(name)) {
        reject(`"${name}" is not a namespace (letters, digits, ".", "_", "-", levels joined by "/", at most 253 characters)`);
      }
    }
    return Object.freeze([...new Set(names)]);
  },
};

export type Header = readonly [name: string, value: string];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const header: Parser<Header> = {
  metavar: "'NAME: VALUE'",
  parse(raw) {
    const colon = raw.indexOf(':');
    const name = colon > 0 ? raw.slice(0, colon).trim() : '';
    const value = raw.slice(colon + 1).trim();
    if (!TOKEN.test(name)) reject("not a header (NAME: VALUE, e.g. 'X-Forwarded-Proto: https')");
    if (/[\r\n\0]/.test(value)) reject('header values cannot contain line breaks or NUL');
    // RFC 9110 field-value, as Node and undici check it on every request.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
      reject('a header value holds tabs, spaces and visible characters (U+0020–U+007E, U+0080–U+00FF) only');
    }
    if (/^(host|authorization|content-length|connection|transfer-encoding)$/i.test(name)) {
      reject(`${name} is set by the agent itself and cannot be overridden`);
    }
    // Hop-by-hop and request-control headers: the HTTP clients refuse them on every request.
    if (/^(expect|keep-alive|upgrade|trailer|te|proxy-connection)$/i.test(name)) {
      reject(`${name} controls the connection, not the request; it cannot be sent as an extra header`);
    }
    return [name, value];
  },
};

export const fileMode: Parser<number> = {
  metavar: 'MODE',
  parse: (raw) => (/^0?[0-7]{3}$/.test(raw) ? Number.parseInt(raw, 8) : reject('an octal file mode such as 0440 or 0600')),
};

export const logLevel = oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const);

/** A POSIX signal name as Node knows it (SIGHUP, SIGUSR1, …); "HUP" is accepted for SIGHUP. */
export const signalName: Parser<NodeJS.Signals> = {
  metavar: 'SIGNAL',
  parse(raw) {
    const name = (raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`) as NodeJS.Signals;
    const known = Object.keys(osConstants.signals);
    return known.includes(name) && name !== 'SIGKILL' && name !== 'SIGSTOP'
      ? name
      : reject('a signal name such as SIGHUP, SIGUSR1 or SIGTERM');
  },
};

/** A process name to look for in /proc (comm or argv[0] basename). */
export const processName: Parser<string> = {
  metavar: 'NAME',
  parse: (raw) => (/^[^\s/\0]{1,255}$/.test(raw) ? raw : reject('a process name without spaces or "/" (as shown by ps -o comm)')),
};

/** A Kubernetes resource quantity (100m, 0.5, 64Mi, 1G); the value is kept as written. */
const QUANTITY = /^[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;
const QUANTITY_SCALE: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
export const quantity: Parser<string> = {
  metavar: 'QUANTITY',
  parse: (raw) => (QUANTITY.test(raw) ? raw : reject('a Kubernetes quantity such as 50m, 0.5, 64Mi or 1Gi')),
};
/** The numeric value of a quantity, for comparing a request with its limit. */
export function quantityValue(text: string): number {
  const match = /^[+]?([\d.]+)(?:([eE][+-]?\d+)|([a-zA-Z]*))$/.exec(text);
  if (!match) return Number.NaN;
  return match[2] !== undefined ? Number(`${match[1]}${match[2]}`) : Number(match[1]) * (QUANTITY_SCALE[match[3] ?? ''] ?? Number.NaN);
}

export const absolutePath: Parser<string> = {
  metavar: 'PATH',
  parse(raw) {
    if (!raw.startsWith('/') || raw.includes('\0') || raw.split('/').includes('..') || raw.length > 4096) {
      reject('an absolute path without ".." segments, e.g. /etc/llm-config');
    }
    // Normalised, because the API server compares mount paths as strings: `/etc//x`,
    // `/etc/./x` and `/etc/x/` are one directory and must compare (and be written) as one.
    const normal = posix.normalize(raw);
    return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
  },
};

/** RFC 1123 label, as Kubernetes requires for container names. */
export const dnsLabelList: Parser<readonly string[]> = {
  metavar: 'NAME[,NAME…]',
  parse(raw) {
    const names = raw
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    if (names.length === 0) reject('a comma-separated list of container names');
    for (const name of names) if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) reject(`"${name}" is not a container name`);
    return Object.freeze(names);
  },
};

/** A container image reference (registry/name:tag or @digest). */
export const image: Parser<string> = {
  metavar: 'IMAGE',
  parse: (raw) =>
    /^[a-z0-9][a-z0-9._\-/:@]*$/i.test(raw) && !/\s/.test(raw) ? raw : reject('an image reference such as ghcr.io/org/llm-config:0.1.0'),
};

/** `name=mount/path` for a KV v2 secret, e.g. db=secret/apps/db. */
export const vaultSecret: Parser<{ readonly name: string; readonly mount: string; readonly path: string }> = {
  metavar: 'NAME=MOUNT/PATH',
  parse(raw) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,252})=([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*)$/.exec(raw);
    if (!m || m[3]!.split('/').includes('..')) reject('NAME=MOUNT/PATH of a KV v2 secret, e.g. db=secret/apps/db');
    return Object.freeze({ name: m![1]!, mount: m![2]!, path: m![3]! });
  },
};
