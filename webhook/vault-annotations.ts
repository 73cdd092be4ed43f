// `vault-secret-<name>: MOUNT/PATH` annotations → the agent's --vault-secret values,
// checked with the agent's own parser so the webhook refuses what the agent would.

import { InvalidSettingError, InvalidValueError } from '../src/errors.ts';
import { vaultSecret } from '../src/options/parsers.ts';
import { PREFIX, type Annotations } from './annotations.ts';

const FAMILY = `${PREFIX}vault-secret-`;

export function vaultSecretsFromAnnotations(pod: Annotations, namespace: Annotations, role: string | undefined): string[] {
  const merged: Record<string, string> = {};
  for (const source of [namespace, pod]) for (const [k, v] of Object.entries(source)) if (k.startsWith(FAMILY)) merged[k] = v;
  const secrets = Object.entries(merged)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([annotation, value]) => {
      const spec = `${annotation.slice(FAMILY.length)}=${value}`;
      try {
        vaultSecret.parse(spec);
      } catch (error) {
        if (error instanceof InvalidValueError)
          throw new InvalidSettingError(
            annotation,
            value,
            'MOUNT/PATH of a KV v2 secret, e.g. secret/apps/db (and a <name> of letters, digits, ".", "_", "-")',
          );
        throw error;
      }
      return spec;
    });
  if (secrets.length > 0 && role === undefined) {
    throw new InvalidSettingError(`${PREFIX}vault-role`, '', `required with ${PREFIX}vault-secret-<name>: the Vault Kubernetes auth role`);
  }
  return secrets;
}
