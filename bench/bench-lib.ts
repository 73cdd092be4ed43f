// Shared pieces of the benchmark scripts: percentiles, a result row, seeding a
// central API with N keys. Benchmarks print figures; they never assert.

import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

export type Figure = {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly bar?: string;
  readonly ratio?: number;
};

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function summarise(samples: number[]): { p50: number; p99: number; min: number; max: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}

export function printFigures(title: string, command: string, figures: readonly Figure[]): void {
  console.log(`\n## ${title}\n\ncommand: ${command}\nmachine: ${availableParallelism()} cores, Node ${process.version}\n`);
  for (const f of figures) {
    const bar = f.bar ? `   bar: ${f.bar}${f.ratio !== undefined ? ` (ratio to bar ${f.ratio.toFixed(2)})` : ''}` : '';
    console.log(`  ${f.name.padEnd(44)} ${String(round(f.value)).padStart(10)} ${f.unit}${bar}`);
  }
}

export function round(n: number): number {
  return n >= 100 ? Math.round(n) : Math.round(n * 100) / 100;
}

/** A seed file with `keys` keys in one namespace, values of realistic size. */
export async function writeSeed(path: string, namespace: string, keys: number, environment = 'development'): Promise<void> {
  const values: Record<string, unknown> = {};
  for (let i = 0; i < keys; i++)
    values[`key-${String(i).padStart(5, '0')}`] =
      i % 3 === 0 ? { model: `m-${i}`, temperature: 0.5, tags: ['a', 'b'] } : `value-${i}-${'x'.repeat(40)}`;
  await writeFile(path, JSON.stringify({ [environment]: { [namespace]: values } }));
}
