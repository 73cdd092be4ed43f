// test/helpers/helm.ts: the zip reader refuses what it cannot read with a clear error,
// and two processes extracting into one empty cache at once both end with working tools.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { unzipEntries } from '../helpers/helm.ts';

/** A zip with the given entries (method 0 stored, 8 deflated), written the way zip tools do. */
function makeZip(entries: Array<{ name: string; data: Buffer; method: 0 | 8 }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data, method } of entries) {
    const body = method === 8 ? deflateRawSync(data) : data;
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

test('unzipEntries reads stored and deflated entries, and names what it cannot read', () => {
  const zip = makeZip([
    { name: 'a/stored', data: Buffer.from('plain'), method: 0 },
    { name: 'b/deflated', data: Buffer.from('x'.repeat(10_000)), method: 8 },
  ]);
  const found = unzipEntries(zip, ['a/stored', 'b/deflated']);
  assert.equal(found.get('a/stored')!.toString(), 'plain');
  assert.equal(found.get('b/deflated')!.toString(), 'x'.repeat(10_000));
  assert.throws(() => unzipEntries(zip, ['helm/helm']), /helm\/helm is not in the zip file/);
  assert.throws(() => unzipEntries(Buffer.from('not a zip at all'), ['x']), /not a zip file/);
  const odd = makeZip([{ name: 'c', data: Buffer.from('?'), method: 0 }]);
  odd.writeUInt16LE(12, odd.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 10); // bzip2
  assert.throws(() => unzipEntries(odd, ['c']), /c: zip compression method 12 is not supported/);
});

test('two processes extracting into one empty cache at once both get a working helm and kubectl', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'llmc-tools-'));
  try {
    const script = `import { kubeTools } from ${JSON.stringify(join(import.meta.dirname, '..', 'helpers', 'helm.ts'))};
      import { execFileSync } from 'node:child_process';
      const tools = kubeTools();
      process.stdout.write(execFileSync(tools.helm, ['version', '--short']).toString() + execFileSync(tools.kubectl, ['version', '--client']).toString());`;
    const run = () =>
      new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ['--input-type=module', '-e', script],
          { env: { ...process.env, LLM_CONFIG_TOOLS_CACHE: cache, HOME: cache } },
          (error, stdout, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve(stdout)),
        ),
      );
    const outputs = await Promise.all([run(), run()]);
    for (const output of outputs) {
      assert.match(output, /^v4\./m);
      assert.match(output, /Client Version: v1\.34/);
    }
    assert.deepEqual(
      readdirSync(cache).filter((name) => name.startsWith('extract-')),
      [],
      'no temporary directory left behind',
    );
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
