import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testLogger } from '../helpers/test-logger.ts';

test('JSON lines with a level label; value-carrying fields are redacted', () => {
  const { logger, lines, raw } = testLogger('info');
  logger.info({ namespace: 'ns', value: 'sk-live-123', entry: { value: 'sk-live-456' }, headers: { authorization: 'Bearer t' } }, 'hello');
  logger.debug('not at info');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 'info');
  assert.equal(lines[0]!.msg, 'hello');
  assert.equal(lines[0]!.value, '[redacted]');
  assert.doesNotMatch(raw.join('\n'), /sk-live|Bearer t/);
});
