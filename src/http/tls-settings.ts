// The central API's TLS material from the files the options name, read once at start;
// one definition for the agent, init and the relay (they take the same flags).

import { readFile } from 'node:fs/promises';
import { InvalidSettingError } from '../errors.ts';
import type { TlsSettings } from './transport.ts';

/** A PEM file named by `setting`, or undefined when none is set; unreadable is a bad setting. */
export async function readPem(setting: string, path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidSettingError(setting, path, `a readable PEM file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, {
      cause: error,
    });
  }
}

export async function readTlsSettings(options: {
  readonly caFile?: string | undefined;
  readonly clientCert?: string | undefined;
  readonly clientKey?: string | undefined;
  readonly insecureSkipTlsVerify: boolean;
}): Promise<TlsSettings> {
  const [ca, cert, key] = await Promise.all([
    readPem('--ca-file', options.caFile),
    readPem('--client-cert', options.clientCert),
    readPem('--client-key', options.clientKey),
  ]);
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), rejectUnauthorized: !options.insecureSkipTlsVerify };
}
