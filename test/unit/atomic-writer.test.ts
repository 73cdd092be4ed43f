import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, readdir, readFile, readlink, writeFile, symlink, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AtomicWriter, isPlainFileName } from '../../src/files/atomic-writer.ts';
import { OutputWriteError } from '../../src/errors.ts';
import { tempDir } from '../helpers/cli-process.ts';

const payload = (files: Record<string, string>, mode = 0o440) => new Map(Object.entries(files).map(([n, c]) => [n, { content: c, mode }]));

test('kubelet layout: timestamped dir, ..data link, visible links through ..data', async (t) => {
  const dir = await tempDir(t);
  const writer = new AtomicWriter(dir);
  assert.equal(await writer.write(payload({ 'a.json': '{"a":1}\n', 'b.env': 'B=1\n' })), 'written');
  const data = await readlink(join(dir, '..data'));
  assert.match(data, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./);
  assert.equal(await readlink(join(dir, 'a.json')), '..data/a.json');
  assert.equal(await readFile(join(dir, 'a.json'), 'utf8'), '{"a":1}\n');
  assert.equal((await lstat(join(dir, data, 'a.json'))).mode & 0o777, 0o440);
});

test('no write when nothing changed; removed names and old data dirs are cleaned', async (t) => {
  const dir = await tempDir(t);
  const writer = new AtomicWriter(dir);
  await writer.write(payload({ 'a.json': '1', 'b.json': '2' }));
  const first = await readlink(join(dir, '..data'));
  assert.equal(await writer.write(payload({ 'b.json': '2', 'a.json': '1' })), 'unchanged');
  assert.equal(await readlink(join(dir, '..data')), first);
  assert.equal(await writer.write(payload({ 'a.json': '1' }, 0o400)), 'written', 'a mode change is a change');
  await writer.write(payload({ 'a.json': '3' }));
  const names = (await readdir(dir)).sort();
  assert.equal(names.filter((n) => n.startsWith('..') && n !== '..data').length, 1, 'only the current data dir remains');
  assert.deepEqual(
    names.filter((n) => !n.startsWith('.')),
    ['a.json'],
  );
});

test('files someone else put in the directory are left alone; a crash leftover is replaced', async (t) => {
  const dir = await tempDir(t);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'README'), 'not ours');
  await writeFile(join(dir, 'a.json'), 'stale regular file from an old version');
  await symlink('..nowhere', join(dir, '..data_tmp'));
  await new AtomicWriter(dir).write(payload({ 'a.json': 'new' }));
  assert.equal(await readFile(join(dir, 'README'), 'utf8'), 'not ours');
  assert.equal(await readFile(join(dir, 'a.json'), 'utf8'), 'new');
  assert.equal(await readlink(join(dir, 'a.json')), '..data/a.json');
});

test('names that are not plain file names are refused before anything is written', async (t) => {
  const dir = await tempDir(t);
  for (const bad of ['../x', 'a/b', '.hidden', '..data', 'nul\0', 'x'.repeat(256), '']) {
    assert.equal(isPlainFileName(bad), false, bad);
    await assert.rejects(new AtomicWriter(dir).write(payload({ [bad]: 'x' })), (e: unknown) => e instanceof OutputWriteError);
  }
  assert.deepEqual(await readdir(dir), []);
});

test('a failed write keeps the previous set whole', async (t) => {
  const dir = await tempDir(t);
  const writer = new AtomicWriter(dir);
  await writer.write(payload({ 'a.json': 'good' }));
  // The second file cannot be written: the failure comes after a.json is already in the new dir.
  const unwritable = { content: 42 as unknown as string, mode: 0o440 };
  await assert.rejects(
    writer.write(
      new Map([
        ['a.json', { content: 'bad', mode: 0o440 }],
        ['b.json', unwritable],
      ]),
    ),
    (e: unknown) => e instanceof OutputWriteError,
  );
  assert.equal(await readFile(join(dir, 'a.json'), 'utf8'), 'good');
  assert.equal((await readdir(dir)).filter((n) => n.startsWith('..2')).length, 1, 'the half-written dir was removed');
});

test('a fresh writer over an existing directory compares with what is on disk (the agent after init)', async (t) => {
  const dir = await tempDir(t);
  await new AtomicWriter(dir).write(payload({ 'a.json': '1' }));
  const link = await readlink(join(dir, '..data'));
  const restarted = new AtomicWriter(dir);
  assert.equal(await restarted.write(payload({ 'a.json': '1' })), 'unchanged');
  assert.equal(await readlink(join(dir, '..data')), link);
  assert.equal(await restarted.write(payload({ 'a.json': '2' })), 'written');
  assert.equal(await restarted.write(payload({ 'a.json': '2' })), 'unchanged');
});
