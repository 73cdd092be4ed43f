import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { settle } from '../helpers/fake-clock.ts';
import { consumeWatchStream, decodeWatchEvent, isUsableEventId, type WatchEvent } from '../../src/sync/sse-consumer.ts';

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

/** Runs consumeWatchStream, recording how it ended without awaiting it. */
function consume(body: PassThrough, heartbeatTimeoutMs: number) {
  const result: { error?: { code?: string } } = {};
  const done = consumeWatchStream(body, { heartbeatTimeoutMs, maxEventBytes: 1_000_000, onEvent: () => {} }).then(
    () => {
      result.error = { code: 'ended without error' };
    },
    (error: { code?: string }) => {
      result.error = error;
    },
  );
  return { result, done };
}

test('silence past the heartbeat budget is a stall, and not a moment before', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] }); // the heartbeat timer on a fake clock
  const body = new PassThrough();
  const { result, done } = consume(body, 80);
  body.write(': ping\n\n');
  await settle();
  t.mock.timers.tick(79);
  await settle();
  assert.equal(result.error?.code, undefined, '79 ms of silence is within the budget');
  t.mock.timers.tick(1);
  await settle();
  assert.equal(result.error?.code, 'LLMC_ERR_STREAM_STALLED');
  await done;
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

test('decode: a put without a whole entry is refused (the stream goes on); a delete needs namespace and key', () => {
  const refused = decodeWatchEvent({ event: 'put', id: '3', data: '{"key":"k"}' });
  assert.deepEqual(refused, {
    type: 'refused',
    id: '3',
    refusal: { namespace: undefined, key: 'k', kind: 'malformed', reason: 'entry without a namespace' },
  });
  assert.throws(() => decodeWatchEvent({ event: 'delete', data: '{"key":"k"}' }), /needs namespace and key/);
  assert.equal(decodeWatchEvent({ event: 'hello', data: '{}' }), undefined);
});

test('issue 11 #8: bytes that never complete an event are not life; the heartbeat budget still runs out', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const body = new PassThrough();
  const { result, done } = consume(body, 150);
  body.write(': ping\n\n');
  await settle();
  // A chunk every 20 ms, never a blank line: no event completes.
  for (let elapsed = 0; elapsed < 150 && result.error === undefined; elapsed += 20) {
    body.write('data: x');
    await settle();
    t.mock.timers.tick(20);
    await settle();
  }
  assert.equal(result.error?.code, 'LLMC_ERR_STREAM_STALLED', '150 ms of dripped bytes kept the stream alive');
  await done;
});

test('issue 11 #6: a put nested 6,000 deep is refused with a reason, no stack overflow', () => {
  const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;
  const event = decodeWatchEvent({
    event: 'put',
    id: '9',
    data: `{"id":"d","namespace":"ns","key":"deep","environment":"development","version":1,"value":${deep}}`,
  });
  assert.equal(event?.type, 'refused');
  assert.match(event.type === 'refused' ? event.refusal.reason : '', /ns\/deep nests deeper than 64 levels/);
  const snapshot = decodeWatchEvent({
    event: 'snapshot',
    id: '10',
    data: `{"namespaces":{"ns":[${JSON.stringify(entry)},{"id":"d","namespace":"ns","key":"deep","environment":"development","version":1,"value":${deep}}]}}`,
  });
  assert.equal(snapshot?.type, 'snapshot');
  if (snapshot?.type === 'snapshot') {
    assert.deepEqual(
      snapshot.namespaces.get('ns')!.map((e) => e.key),
      ['k'],
    );
    assert.equal(snapshot.refused[0]!.kind, 'too-deep');
  }
});

test('issue 11 #7: event ids that cannot be a header are not usable as a cursor', () => {
  for (const id of ['42', 'abc-1:2', 'caf\u00e9', 'x'.repeat(256)]) assert.equal(isUsableEventId(id), true, id);
  for (const id of [undefined, '', 'snow\u2603', 'a\nb', 'a\u0000', ' 1', '1 ', 'x'.repeat(257), '\u{1F600}']) {
    assert.equal(isUsableEventId(id), false, JSON.stringify(id));
  }
});
