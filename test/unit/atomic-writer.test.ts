import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AtomicWriter, isPlainFileName } from '../../src/files/atomic-writer.ts';
import { OutputWriteError } from '../../src/errors.ts';
import { tempDir } from '../helpers/cli-process.ts';
import { testLogger } from '../helpers/test-logger.ts';

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

test('a directory planted at an output name: refused once per write with a true message, nothing leaked, recovers when removed', async (t) => {
  const dir = await tempDir(t);
  const writer = new AtomicWriter(dir);
  await writer.write(payload({ 'a.json': '1', 'b.json': '1' }));
  const before = await readlink(join(dir, '..data'));
  await rm(join(dir, 'b.json'));
  await mkdir(join(dir, 'b.json'));
  await writeFile(join(dir, 'b.json', 'someone-elses'), 'data');
  for (let change = 2; change <= 5; change++) {
    await assert.rejects(writer.write(payload({ 'a.json': String(change), 'b.json': String(change) })), (e: unknown) => {
      assert.ok(e instanceof OutputWriteError);
      assert.equal(e.code, 'LLMC_ERR_OUTPUT_WRITE');
      assert.match(
        e.message,
        /refused \(previous files kept, nothing written\): .*\/b\.json is a directory this agent did not create; remove it/,
      );
      return true;
    });
    assert.equal(await readlink(join(dir, '..data')), before, 'the message says "previous files kept": ..data did not move');
    assert.equal(await readFile(join(dir, 'a.json'), 'utf8'), '1');
  }
  const dataDirs = (await readdir(dir)).filter((n) => n.startsWith('..') && n !== '..data');
  assert.deepEqual(dataDirs, [before], 'no data directory leaked per change');
  assert.equal(await readFile(join(dir, 'b.json', 'someone-elses'), 'utf8'), 'data', 'what is not ours is left alone');
  await rm(join(dir, 'b.json'), { recursive: true });
  assert.equal(await writer.write(payload({ 'a.json': '6', 'b.json': '6' })), 'written');
  assert.equal(await readFile(join(dir, 'b.json'), 'utf8'), '6');
  assert.equal((await readdir(dir)).filter((n) => n.startsWith('..') && n !== '..data').length, 1);
});

test('a failure after ..data moved says so, and still removes the older data directories', async (t) => {
  const dir = await tempDir(t);
  const writer = new AtomicWriter(dir);
  await writer.write(payload({ 'a.json': '1' }));
  // The temporary link name of b.json is taken by a directory: linking fails after the swap.
  await mkdir(join(dir, '.b.json.link.tmp', 'x'), { recursive: true });
  await assert.rejects(writer.write(payload({ 'a.json': '2', 'b.json': '2' })), (e: unknown) => {
    assert.ok(e instanceof OutputWriteError);
    assert.match(e.message, /the new files are in \.\.data, but linking their names failed/);
    assert.doesNotMatch(e.message, /previous files kept/);
    return true;
  });
  assert.equal(await readFile(join(dir, '..data', 'a.json'), 'utf8'), '2');
  assert.equal((await readdir(dir)).filter((n) => n.startsWith('..') && n !== '..data').length, 1, 'the old data dir is gone');
});

test('--readable-by all: every file is at least 0444; group keeps the mode as given', async (t) => {
  const dir = await tempDir(t);
  await new AtomicWriter(dir, { readableBy: 'all' }).write(payload({ 'a.txt': 'x' }, 0o400));
  assert.equal((await stat(join(dir, 'a.txt'))).mode & 0o777, 0o444);
  const other = await tempDir(t);
  await new AtomicWriter(other, { readableBy: 'group' }).write(payload({ 'a.txt': 'x' }, 0o400));
  assert.equal((await stat(join(other, 'a.txt'))).mode & 0o777, 0o400);
  assert.equal(await new AtomicWriter(dir, { readableBy: 'all' }).write(payload({ 'a.txt': 'x' }, 0o400)), 'unchanged');
});

test('a ..data that is not ours (absolute, leading out, dangling) is replaced, never followed; its target is untouched; the log is true', async (t) => {
  const elsewhere = await tempDir(t);
  await writeFile(join(elsewhere, 'a.json'), 'planted');
  const plants = [elsewhere, '../outside', '..2020_01_01_00_00_00.abcdef', 'a.json'];
  for (const plant of plants) {
    const dir = await tempDir(t);
    await symlink(plant, join(dir, '..data'));
    const { logger, lines } = testLogger();
    const writer = new AtomicWriter(dir, { logger });
    await assert.rejects(writer.read('a.json'), (e: unknown) => e instanceof OutputWriteError, `${plant}: read never follows it`);
    assert.equal(await writer.write(payload({ 'a.json': 'ours' })), 'written', plant);
    assert.match(await readlink(join(dir, '..data')), /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.[A-Za-z0-9]{6}$/, plant);
    assert.equal(await readFile(join(dir, 'a.json'), 'utf8'), 'ours');
    assert.equal(await writer.write(payload({ 'a.json': 'ours' })), 'unchanged', `${plant}: the writer works on after that`);
    const warned = lines.filter((l) => l.level === 'warn');
    assert.equal(warned.length, 1, plant);
    assert.equal(warned[0]!.link, plant);
    assert.match(String(warned[0]!.msg), /replacing the link; its target is left untouched/);
    assert.ok(!lines.some((l) => /previous files kept/.test(String(l.msg))));
  }
  assert.deepEqual(await readdir(elsewhere), ['a.json']);
  assert.equal(await readFile(join(elsewhere, 'a.json'), 'utf8'), 'planted', 'the target was never written');
});
