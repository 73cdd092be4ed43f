// `llm-config inject`: offline preview of the webhook (like `istioctl kube-inject`).
// Reads YAML (one or many documents), prints it with the injection applied exactly as
// the webhook would; an invalid annotation exits non-zero with the webhook's message.
// YAML is read and written as kubectl reads it (1.1 numbers: 0400 is octal); documents
// that are not injected come out byte for byte, injected ones keep comments and anchors.

import { readFile } from 'node:fs/promises';
import { defineCommand } from '../src/command.ts';
import { option, withShort } from '../src/options/define.ts';
import * as p from '../src/options/parsers.ts';
import { InvalidSettingError } from '../src/errors.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from './webhook-options.ts';
import type { MutateContext } from './mutate.ts';
import { injectManifest } from './workload.ts';
import { applyPatchToDocument, manifestValue, parseManifests } from './yaml-manifests.ts';

export type InjectedText = {
  readonly output: string;
  readonly warnings: readonly string[];
  /** The first refused manifest: nothing is printed then. */
  readonly denied?: string;
};

/** The whole `inject` transformation on text: pure, so the golden tests need no process. */
export function injectYaml(text: string, file: string, context: MutateContext): InjectedText {
  const warnings: string[] = [];
  const out: string[] = [];
  for (const [index, parsed] of parseManifests(text, file).entries()) {
    const value = manifestValue(parsed, file, index);
    const result = value === null || value === undefined ? undefined : injectManifest(value, context);
    const name = `${(value as { kind?: string })?.kind ?? 'object'}/${(value as { metadata?: { name?: string } })?.metadata?.name ?? '?'}`;
    if (result?.denied) return { output: '', warnings, denied: `${name}: ${result.denied}` };
    for (const warning of result?.warnings ?? []) warnings.push(`${name}: ${warning}`);
    if (!result?.injected) {
      out.push(parsed.source);
      continue;
    }
    applyPatchToDocument(parsed.document, value, result.podPath!, result.operations!);
    out.push(parsed.document.toString({ lineWidth: 0 }));
  }
  return { output: out.join(''), warnings };
}

async function readInput(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (path !== '-')
    return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new InvalidSettingError('--file', path, `a readable YAML file (${error.code})`);
    });
  let text = '';
  for await (const chunk of stdin) text += chunk;
  return text;
}

export const injectCommand = defineCommand({
  name: 'inject',
  summary: 'Print Kubernetes YAML with the sidecar injected, exactly as the webhook would mutate it.',
  usage: 'llm-config inject [-f FILE|-] [injection defaults…]',
  options: {
    file: withShort(
      option(
        p.path,
        '-',
        'YAML to read: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob (others pass through); "-" for stdin.',
      ),
      'f',
    ),
    ...injectionOptionTable,
  },
  async run(options, context) {
    const text = await readInput(options.file, context.stdin);
    const mutateContext = { defaults: injectionDefaults(options), settings: injectorSettings(options), namespaceAnnotations: () => ({}) };
    const result = injectYaml(text, options.file, mutateContext);
    for (const warning of result.warnings) context.stderr.write(`llm-config inject: warning: ${warning}\n`);
    if (result.denied) {
      context.stderr.write(`llm-config inject: ${result.denied}\n`);
      return 1;
    }
    context.stdout.write(result.output);
    return 0;
  },
});
