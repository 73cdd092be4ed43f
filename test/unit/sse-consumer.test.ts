import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { consumeWatchStream, decodeWatchEvent, type WatchEvent } from '../../src/sync/sse-consumer.ts';

const entry = { id: 'i', namespace: 'ns', key: 'k', value: 'v', environment: 'development', version: 2, metadata: {} };

test('snapshot, put, delete and ping, split across arbitrary chunk boundaries', async () => {
  const text =
    `event: snapshot\nid: 5\ndata: {"revision":5,"namespaces":{"ns":[${JSON.stringify(entry)}]}}\n\n` +
    `: ping\n\nevent: put\nid: 6\ndata: ${JSON.stringify(entry)}\n\nevent: future-thing\ndata: {}\n\n` +
    'event: delete\r\nid: 7\r\ndata: {"namespace":"ns","key":"k"}\r\n\r\n';
  const body = new PassThrough();
  const events: WatchEvent[] = [];
  const done = consumeWatchStream(body, { heartbeatTimeoutMs: 1000, maxEventBytes: 10_000, onEvent: (e) => events.push(e) });
  for (let i = 0; i < text.length; i += 7) body.write(text.slice(i, i + 7));
  body.end();
  await done;
  assert.deepEqual(
    events.map((e) => [e.type, 'id' in e ? e.id : undefined]),
    [
      ['snapshot', '5'],
      ['ping', undefined],
      ['put', '6'],
      ['delete', '7'],
    ],
  );
});

test('silence past the heartbeat budget is a stall', async () => {
  const body = new PassThrough();
  body.write(': ping\n\n');
  const started = Date.now();
  await assert.rejects(
    consumeWatchStream(body, { heartbeatTimeoutMs: 80, maxEventBytes: 1000, onEvent: () => {} }),
    (e: { code?: string }) => e.code === 'LLMC_ERR_STREAM_STALLED',
  );
  assert.ok(Date.now() - started >= 70);
});

test('malformed event data and oversized events are protocol errors', async () => {
  for (const [text, limit] of [
    ['event: put\ndata: {not json\n\n', 1000],
    [`event: put\ndata: ${'x'.repeat(5000)}`, 1000],
  ] as const) {
    const body = new PassThrough();
    const done = consumeWatchStream(body, { heartbeatTimeoutMs: 1000, maxEventBytes: limit, onEvent: () => {} });
    body.write(text);
    await assert.rejects(done, (e: { code?: string }) => e.code === 'LLMC_ERR_CENTRAL_PROTOCOL');
  }
});

test('decode: a put needs a whole entry; a delete needs namespace and key', () => {
  assert.throws(() => decodeWatchEvent({ event: 'put', data: '{"key":"k"}' }), /entry without a namespace/);
  assert.throws(() => decodeWatchEvent({ event: 'delete', data: '{"key":"k"}' }), /needs namespace and key/);
  assert.equal(decodeWatchEvent({ event: 'hello', data: '{}' }), undefined);
});
