// Review of issue 12, minor items: durations used as timers above 2^31-1 ms fire at once
// in Node (poll-interval: 999999999h was admitted), and a memory-limit below the default
// request was blamed on the request the user never set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mutate } from '../../webhook/mutate.ts';
import { A, INJECT_ML_SERVICE as base, mutateContext, podReview as review } from '../helpers/admission-review.ts';
import { agentOptionTable } from '../../agent/agent-options.ts';
import { duration, TIMER_MAX_MS } from '../../src/options/parsers.ts';

const context = mutateContext();

test('durations longer than a Node timer can wait are refused, in annotations and in every agent duration flag', () => {
  assert.equal(TIMER_MAX_MS, 2 ** 31 - 1);
  assert.equal(duration().parse('596h'), 596 * 3_600_000);
  assert.throws(() => duration().parse('597h'), /at most 2147483647ms/);
  const { response } = mutate(review({ ...base, [A('poll-interval')]: '999999999h' }), context);
  assert.equal(response.allowed, false);
  assert.match(
    response.status!.message,
    /^config\.llm-dev-ops\.io\/poll-interval=999999999h: .*at most 2147483647ms \(about 24 days: the longest timer Node can set\)/,
  );
  for (const [name, spec] of Object.entries(agentOptionTable)) {
    if (!(spec.parser as { metavar?: string }).metavar?.startsWith('DURATION')) continue;
    assert.throws(() => spec.parser.parse('999999999h'), /at most|out of range/, name);
  }
});

test('a memory-limit below the default request names the limit the user set', () => {
  const { response } = mutate(review({ ...base, [A('memory-limit')]: '1' }), context);
  assert.equal(response.allowed, false);
  assert.equal(response.status!.message, 'config.llm-dev-ops.io/memory-limit=1: at least the memory request (128Mi)');
  const both = mutate(review({ ...base, [A('memory-limit')]: '64Mi', [A('memory-request')]: '100Mi' }), context).response;
  assert.equal(both.status!.message, 'config.llm-dev-ops.io/memory-request=100Mi: at most the memory limit (64Mi)');
});
