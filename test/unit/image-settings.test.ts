// The Node flags and the memory-related environment are chosen by measurement
// (docs/sizing.md) and must be the same in both images, the benches and the fault runs:
// the benches take them from test/helpers/cli-process.ts, so both Dockerfiles are held
// to those constants here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGE_ENV, IMAGE_NODE_FLAGS, SERVICE_NODE_FLAGS } from '../helpers/cli-process.ts';
import { readDockerfile } from '../helpers/dockerfile.ts';

for (const name of ['Dockerfile', 'Dockerfile.init']) {
  test(`${name}: ENTRYPOINT flags and memory environment are the ones the benches measure`, async () => {
    const { entrypoint, env } = (await readDockerfile(name)).final;
    assert.deepEqual(entrypoint, ['node', ...IMAGE_NODE_FLAGS, '/app/bin/llm-config.js']);
    for (const [key, value] of Object.entries(IMAGE_ENV)) assert.equal(env[key], value, `${name}: ENV ${key}`);
  });

  // V8 keys Node's compile cache by its flags (heap sizes aside), Node by the uid and the
  // directory: a warm step that differs from how the image runs misses at every start,
  // and Node then loads its TypeScript stripper (docs/sizing.md). test:images proves the
  // hit in the built images; this catches the drift in the Dockerfiles first.
  test(`${name}: the compile cache is warmed the way the image runs`, async () => {
    const { stages, final, warm } = await readDockerfile(name);
    assert.ok(warm, `${name}: a build stage runs image-prune.ts warm`);
    const { dir } = warm;
    const expected = name === 'Dockerfile' ? [IMAGE_NODE_FLAGS, SERVICE_NODE_FLAGS] : [IMAGE_NODE_FLAGS];
    const wanted = expected.flatMap((flags) => [
      // The modules (image-prune enables the cache in `dir` itself) and the entry files (--help).
      { cache: undefined, flags, script: 'bin/image-prune.ts', args: `warm ${dir}` },
      { cache: dir, flags, script: 'bin/llm-config.js', args: '--help >/dev/null' },
    ]);
    const key = (s: object) => JSON.stringify(s);
    assert.deepEqual(warm.steps.map(key).sort(), wanted.map(key).sort(), `${name}: warm steps`);
    assert.equal(final.env.NODE_COMPILE_CACHE, dir, `${name}: the image reads the cache it warmed`);
    for (const stage of stages)
      assert.doesNotMatch(stage, /^ENV .*NODE_OPTIONS/m, `${name}: NODE_OPTIONS can carry V8 flags that change the cache key`);
    assert.equal(warm.user, final.user, `${name}: warmed as the uid the image runs as`);
  });
}
