// The Node flags and the memory-related environment are chosen by measurement
// (docs/sizing.md) and must be the same in both images, the benches and the fault runs:
// the benches take them from test/helpers/cli-process.ts, so both Dockerfiles are held
// to those constants here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_ENV, IMAGE_NODE_FLAGS, REPO } from '../helpers/cli-process.ts';

/** The last stage's ENTRYPOINT and ENV of a Dockerfile (continuation lines joined). */
async function finalStage(name: string): Promise<{ entrypoint: string[]; env: Record<string, string> }> {
  const text = (await readFile(join(REPO, name), 'utf8')).replace(/\\\n\s*/g, ' ');
  const stages = text.split(/^FROM /m);
  const last = stages.at(-1)!;
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(last);
  assert.ok(entry, `${name}: the final stage has an exec-form ENTRYPOINT`);
  const env: Record<string, string> = {};
  for (const [, line] of last.matchAll(/^ENV (.*)$/gm)) {
    for (const [, key, value] of line!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[key!] = value!;
  }
  return { entrypoint: JSON.parse(entry[1]!) as string[], env };
}

for (const name of ['Dockerfile', 'Dockerfile.init']) {
  test(`${name}: ENTRYPOINT flags and memory environment are the ones the benches measure`, async () => {
    const { entrypoint, env } = await finalStage(name);
    assert.deepEqual(entrypoint, ['node', ...IMAGE_NODE_FLAGS, '/app/bin/llm-config.js']);
    for (const [key, value] of Object.entries(IMAGE_ENV)) assert.equal(env[key], value, `${name}: ENV ${key}`);
  });
}
