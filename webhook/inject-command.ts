// `llm-config inject`: offline preview of the webhook (like `istioctl kube-inject`).
// Reads YAML (one or many documents), prints it with the injection applied exactly as
// the webhook would; an invalid annotation exits non-zero with the webhook's message.

import { readFile } from 'node:fs/promises';
import { Document, parseAllDocuments } from 'yaml';
import { defineCommand } from '../src/command.ts';
import { option, withShort } from '../src/options/define.ts';
import * as p from '../src/options/parsers.ts';
import { InvalidSettingError } from '../src/errors.ts';
import { injectionDefaults, injectionOptionTable, injectorSettings } from './webhook-options.ts';
import { injectManifest } from './workload.ts';

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
    const documents = parseAllDocuments(await readInput(options.file, context.stdin));
    const list = Array.isArray(documents) ? documents : [documents];
    const mutateContext = { defaults: injectionDefaults(options), settings: injectorSettings(options), namespaceAnnotations: () => ({}) };
    const out: string[] = [];
    for (const document of list) {
      if (document.errors.length > 0)
        throw new InvalidSettingError('--file', options.file, `valid YAML (${document.errors[0]!.message.split('\n')[0]})`);
      const value = document.toJS();
      if (value === null || value === undefined) continue;
      const result = injectManifest(value, mutateContext);
      const name = `${(value as { kind?: string }).kind ?? 'object'}/${(value as { metadata?: { name?: string } }).metadata?.name ?? '?'}`;
      if (result.denied) {
        context.stderr.write(`llm-config inject: ${name}: ${result.denied}\n`);
        return 1;
      }
      for (const warning of result.warnings) context.stderr.write(`llm-config inject: warning: ${name}: ${warning}\n`);
      const rendered = new Document(result.manifest);
      rendered.commentBefore = document.commentBefore; // keep licence and source headers
      rendered.comment = document.comment;
      out.push(rendered.toString({ lineWidth: 0 }));
    }
    context.stdout.write(out.join('---\n'));
    return 0;
  },
});
