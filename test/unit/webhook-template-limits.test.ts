// Issue 12 review: a template with deep block nesting froze the webhook (Handlebars'
// parse/precompile is superlinear in nesting and runs on the event loop). Every path
// that compiles a template (webhook annotations, agent/init --files) refuses, before
// Handlebars sees it, a template over the byte limit or nested deeper than the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mutate } from '../../webhook/mutate.ts';
import { A, mutateContext, podReview as review } from '../helpers/admission-review.ts';
import { parseFileEntry } from '../../src/files/file-spec.ts';
import { MAX_TEMPLATE_BYTES, MAX_TEMPLATE_NESTING, MAX_TEMPLATE_TAGS, checkTemplateLimits } from '../../src/files/template-limits.ts';

const context = mutateContext();
const nested = (n: number) => `${'{{#each a}}'.repeat(n)}x${'{{/each}}'.repeat(n)}`;
const base = { [A('inject')]: 'true', [A('namespaces')]: 'ml-service', [A('file-app.conf')]: 'ml-service' };

test('a template nested deeper than the limit is refused at once, naming the annotation and the limit', () => {
  for (const n of [MAX_TEMPLATE_NESTING + 1, 400]) {
    const { response } = mutate(review({ ...base, [A('template-app.conf')]: nested(n) }), context);
    assert.equal(response.allowed, false, `N=${n}`);
    assert.match(response.status!.message, /^config\.llm-dev-ops\.io\/template-app\.conf=\{\{#each a\}\}/);
    assert.match(response.status!.message, new RegExp(`: template is nested deeper than ${MAX_TEMPLATE_NESTING} blocks`));
    assert.ok(response.status!.message.length < 300, 'the denial quotes the start of the template, not all of it');
  }
  // the review's sizes: N=1000 took 3.8 s, N=4000 blocked /healthz for over a minute, N=20000 ten minutes
  for (const n of [1000, 4000, 20000]) {
    const { response } = mutate(review({ ...base, [A('template-app.conf')]: nested(n) }), context);
    assert.equal(response.allowed, false, `N=${n}`);
    assert.match(response.status!.message, /: template (is|has) .* (than|of) /, response.status!.message.slice(-200));
  }
  // else-if chains nest too (each `{{else if}}` is a block inside the previous one)
  const chain = `{{#if a}}${'{{else if a}}'.repeat(MAX_TEMPLATE_NESTING + 1)}{{/if}}`;
  assert.throws(() => checkTemplateLimits(chain), /nested deeper than/);
});

test('a template with more tags than the limit is refused (compile time grows with tags too)', () => {
  const many = '{{a}}'.repeat(MAX_TEMPLATE_TAGS + 1);
  const { response } = mutate(review({ ...base, [A('template-app.conf')]: many }), context);
  assert.equal(response.allowed, false);
  assert.match(
    response.status!.message,
    new RegExp(`: template has ${MAX_TEMPLATE_TAGS + 1} \\{\\{…\\}\\} tags, more than the limit of ${MAX_TEMPLATE_TAGS}$`),
  );
  assert.doesNotThrow(() => checkTemplateLimits('{{a}}'.repeat(MAX_TEMPLATE_TAGS)));
});

test('a template over the byte limit is refused naming the limit; one at the limits compiles', () => {
  const big = 'x'.repeat(MAX_TEMPLATE_BYTES + 1);
  const { response } = mutate(review({ ...base, [A('template-app.conf')]: big }), context);
  assert.equal(response.allowed, false);
  assert.match(
    response.status!.message,
    /^config\.llm-dev-ops\.io\/template-app\.conf=.*: template is \d+ bytes, more than the limit of 65536 bytes/,
  );
  // bytes, not characters: 3-byte characters count three times
  assert.throws(() => checkTemplateLimits('€'.repeat(Math.floor(MAX_TEMPLATE_BYTES / 3) + 1)), /more than the limit of 65536 bytes/);
  assert.doesNotThrow(() => checkTemplateLimits('€'.repeat(Math.floor(MAX_TEMPLATE_BYTES / 3))));
  const ok = mutate(review({ ...base, [A('template-app.conf')]: nested(MAX_TEMPLATE_NESTING) }), context);
  assert.equal(ok.response.allowed, true, ok.response.status?.message);
});

test('the --files path (agent, init) refuses the same templates with a FileSpecError on "template"', () => {
  assert.throws(
    () => parseFileEntry({ name: 'a.conf', source: 'ml', template: nested(200) }, ['ml'], 0o444),
    (error: Error) => {
      assert.equal((error as { code?: string }).code, 'LLMC_ERR_FILE_SPEC');
      assert.equal((error as { field?: string }).field, 'template');
      assert.match(error.message, new RegExp(`nested deeper than ${MAX_TEMPLATE_NESTING} blocks`));
      return true;
    },
  );
  const spec = parseFileEntry({ name: 'a.conf', source: 'ml', template: nested(1) }, ['ml'], 0o444);
  assert.equal(spec.template!({ a: [1] }), 'x');
});

test('figure: the worst templates under the limits compile in (printed, not asserted)', () => {
  parseFileEntry({ name: 'a.conf', source: 'ml', template: '{{a}}' }, ['ml'], 0o444); // loads Handlebars
  const unit = nested(MAX_TEMPLATE_NESTING);
  const perUnit = unit.split('{{').length - 1;
  const candidates = {
    'flat tags': '{{a}}'.repeat(MAX_TEMPLATE_TAGS),
    'deepest blocks': unit.repeat(Math.floor(MAX_TEMPLATE_TAGS / perUnit)),
    'tags + text to the byte limit': `${'{{a}}'.repeat(MAX_TEMPLATE_TAGS)}${'x'.repeat(MAX_TEMPLATE_BYTES - 5 * MAX_TEMPLATE_TAGS)}`,
  };
  for (const [label, template] of Object.entries(candidates)) {
    checkTemplateLimits(template);
    const started = performance.now();
    parseFileEntry({ name: 'a.conf', source: 'ml', template }, ['ml'], 0o444);
    const ms = performance.now() - started;
    console.log(`worst template under the limits, ${label} (${Buffer.byteLength(template)} bytes): compiled in ${ms.toFixed(0)} ms`);
  }
});
