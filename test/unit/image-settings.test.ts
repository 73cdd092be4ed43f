// The Node flags and the memory-related environment are chosen by measurement
// (docs/sizing.md) and must be the same in both images, the benches and the fault runs:
// the benches take them from test/helpers/cli-process.ts, so both Dockerfiles are held
// to those constants here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_ENV, IMAGE_NODE_FLAGS, REPO, SERVICE_NODE_FLAGS } from '../helpers/cli-process.ts';

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

  // V8 keys Node's compile cache by its flags (heap sizes aside), Node by the uid and the
  // directory: a warm step that differs from how the image runs misses at every start,
  // and Node then loads its TypeScript stripper (docs/sizing.md). test:images proves the
  // hit in the built images; this catches the drift in the Dockerfiles first.
  test(`${name}: the compile cache is warmed the way the image runs`, async () => {
    const text = (await readFile(join(REPO, name), 'utf8')).replace(/\\\n\s*/g, ' ');
    const stages = text.split(/^FROM /m);
    const build = stages.find((stage) => /image-prune\.ts warm/.test(stage))!;
    const final = stages.at(-1)!;
    const warm = /^RUN (.*image-prune\.ts warm (\S+).*)$/m.exec(build);
    assert.ok(warm, `${name}: a build stage runs image-prune.ts warm`);
    const [, line, dir] = warm;
    // Each step of the RUN line: [NODE_COMPILE_CACHE=…] node <flags> <script> <args>.
    const steps = line!.split('&&').map((step) => {
      const m = /^\s*(?:NODE_COMPILE_CACHE=(\S+) )?node ((?:--\S+ )*)(\S+)(.*)$/.exec(step);
      assert.ok(m, `${name}: a warm step is one node call: ${step}`);
      return { cache: m[1], flags: m[2]!.trim(), script: m[3], args: m[4]!.trim() };
    });
    const expected = name === 'Dockerfile' ? [IMAGE_NODE_FLAGS, SERVICE_NODE_FLAGS] : [IMAGE_NODE_FLAGS];
    const wanted = expected.flatMap((flags) => [
      // The modules (image-prune enables the cache in `dir` itself) and the entry files (--help).
      { cache: undefined, flags: flags.join(' '), script: 'bin/image-prune.ts', args: `warm ${dir}` },
      { cache: dir, flags: flags.join(' '), script: 'bin/llm-config.js', args: '--help >/dev/null' },
    ]);
    const key = (s: object) => JSON.stringify(s);
    assert.deepEqual(steps.map(key).sort(), wanted.map(key).sort(), `${name}: warm steps`);
    const env = Object.fromEntries(
      [...final.matchAll(/^ENV (.*)$/gm)].flatMap((m) => [...m[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)].map((e) => [e[1], e[2]])),
    );
    assert.equal(env.NODE_COMPILE_CACHE, dir, `${name}: the image reads the cache it warmed`);
    for (const stage of stages)
      assert.doesNotMatch(stage, /^ENV .*NODE_OPTIONS/m, `${name}: NODE_OPTIONS can carry V8 flags that change the cache key`);
    const userBefore = (text: string) => [...text.matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];
    assert.equal(userBefore(build.slice(0, build.indexOf(line!))), userBefore(final), `${name}: warmed as the uid the image runs as`);
  });
}
