// Renders the chart's relay Deployment and runs its container args through the relay's
// own option parser and cross-option checks (what `llm-config relay` does at start), so a
// test can tell "refused by helm" from "rendered, then the relay exits".

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions } from '../../src/options/define.ts';
import { relayOptionTable, validateRelayOptions } from '../../relay/relay-options.ts';
import { renderChart } from './chart-render.ts';

export type RelayStart = { rendered: boolean; stderr: string; args?: string[]; startError?: string };

/** `values`: YAML lines under `relay:` (indented two spaces); the relay is enabled. */
export async function relayStart(home: string, values: string, extraArgs: readonly string[] = []): Promise<RelayStart> {
  const dir = mkdtempSync(join(tmpdir(), 'llmc-relay-values-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, `agent:\n  centralUrl: https://llm-config.example.internal\nrelay:\n  enabled: true\n${values}`);
    const { result, objects } = await renderChart(home, ['-f', file, ...extraArgs, '--show-only', 'templates/relay-deployment.yaml']);
    if (result.code !== 0) return { rendered: false, stderr: result.stderr };
    const deployment = objects.find((o) => o.kind === 'Deployment');
    const args: string[] = deployment!.spec.template.spec.containers[0].args;
    return { rendered: true, stderr: result.stderr, args, startError: startError(args) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The relay's refusal of these container args (args[0] is the `relay` command), if any. */
export function startError(args: readonly string[]): string | undefined {
  try {
    validateRelayOptions(parseOptions(relayOptionTable, args.slice(1), {}));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
