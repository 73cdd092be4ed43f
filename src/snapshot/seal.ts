// Secrets in the snapshot only when sealed: AES-256-GCM with a key from
// --snapshot-key-file (never stored beside the snapshot), the snapshot's identity as
// associated data so a sealed blob cannot be moved to another environment's snapshot.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidSettingError, SnapshotError } from '../errors.ts';

export type Sealed = { readonly alg: 'aes-256-gcm'; readonly iv: string; readonly tag: string; readonly data: string };

/** A 32-byte key, written raw, as 64 hex digits, or as base64. */
export async function readSealingKey(path: string): Promise<Buffer> {
  const raw = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new InvalidSettingError('--snapshot-key-file', path, `a readable key file (${error.code})`);
  });
  const text = raw.toString('utf8').trim();
  const key = raw.length === 32 ? raw : /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32)
    throw new InvalidSettingError(
      '--snapshot-key-file',
      path,
      'a 32-byte AES-256 key: raw, 64 hex digits or base64 (e.g. openssl rand -base64 32)',
    );
  return key;
}

export function seal(plaintext: string, key: Buffer, associated: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associated));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { alg: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

export function unseal(sealed: Sealed, key: Buffer, associated: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(associated));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new SnapshotError('sealed secrets do not open with this key (wrong key, or tampered)', { cause: error });
  }
}
