// The heap cap injected with the agent and init containers (webhook/node-options.ts,
// docs/sizing.md): half the container's memory limit, leaving at least 64 MiB for what
// is not heap; none for limits too small to leave a useful heap.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heapFlagFor } from '../../webhook/node-options.ts';

test('the heap cap is half the memory limit, in MiB, whatever unit the limit is written in', () => {
  assert.equal(heapFlagFor('256Mi'), '--max-old-space-size=128');
  assert.equal(heapFlagFor('384Mi'), '--max-old-space-size=192');
  assert.equal(heapFlagFor('1Gi'), '--max-old-space-size=512');
  assert.equal(heapFlagFor('0.5Gi'), '--max-old-space-size=256');
  assert.equal(heapFlagFor('300M'), '--max-old-space-size=143'); // 300e6 bytes = 286 MiB
  assert.equal(heapFlagFor('268435456'), '--max-old-space-size=128');
});

test('small limits keep 64 MiB for what is not heap, and below 80 Mi no cap is set', () => {
  assert.equal(heapFlagFor('128Mi'), '--max-old-space-size=64');
  assert.equal(heapFlagFor('96Mi'), '--max-old-space-size=32');
  assert.equal(heapFlagFor('80Mi'), '--max-old-space-size=16');
  assert.equal(heapFlagFor('79Mi'), undefined);
  assert.equal(heapFlagFor('64Mi'), undefined);
  assert.equal(heapFlagFor('not a quantity'), undefined);
});
