// Seed files for the reference central API: YAML or JSON, shaped
//   <environment>: { <namespace>: { <key>: <any JSON value> } }

import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { canonicalEnvironment, ENVIRONMENT_CHOICES } from '../src/environments.ts';
import { InvalidSettingError } from '../src/errors.ts';
import { isNamespaceName } from '../src/options/parsers.ts';
import type { DevStore } from './dev-store.ts';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

export async function loadSeed(store: DevStore, path: string): Promise<number> {
  let doc: unknown;
  try {
    doc = parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InvalidSettingError('--seed', path, `a readable YAML or JSON file (${(error as Error).message.split('\n')[0]})`, {
      cause: error,
    });
  }
  if (!isObject(doc)) throw new InvalidSettingError('--seed', path, 'a mapping of environment → namespace → key → value');
  let count = 0;
  for (const [envName, namespaces] of Object.entries(doc)) {
    const environment = canonicalEnvironment(envName);
    if (!environment) throw new InvalidSettingError('--seed', path, `"${envName}" is not an environment (${ENVIRONMENT_CHOICES})`);
    if (!isObject(namespaces)) throw new InvalidSettingError('--seed', path, `${envName} must map namespaces to keys`);
    for (const [namespace, keys] of Object.entries(namespaces)) {
      if (!isNamespaceName(namespace)) throw new InvalidSettingError('--seed', path, `"${namespace}" is not a namespace name`);
      if (!isObject(keys)) throw new InvalidSettingError('--seed', path, `${envName}.${namespace} must map keys to values`);
      for (const [key, value] of Object.entries(keys)) {
        store.set(environment, namespace, key, value, 'seed');
        count++;
      }
    }
  }
  return count;
}
