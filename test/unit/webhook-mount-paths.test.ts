// Review of issue 12 #10: mount paths were compared as strings, so `/var/run//llm-config`
// and an app mount at `/etc//llm-config` got through (two mounts of one directory), and
// `--mount-path /var/run/llm-config` at webhook start made every pod's denial name a flag
// the pod author cannot change. Paths are normalised by the one parser (the patch carries
// the normalised form) and the app's own mounts are normalised before comparing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mutate } from '../../webhook/mutate.ts';
import { parseOptions } from '../../src/options/define.ts';
import { A, INJECT_ML_SERVICE as base, mutateContext, patchOf, podReview } from '../helpers/admission-review.ts';
import { webhookOptionTable } from '../../webhook/webhook-command.ts';
import { absolutePath } from '../../src/options/parsers.ts';

const context = mutateContext();
const review = (annotations: Record<string, string>, mounts: Array<{ name: string; mountPath: string }> = []) =>
  podReview(annotations, { containers: [{ name: 'app', image: 'app', volumeMounts: mounts }], volumes: [{ name: 'own', emptyDir: {} }] });

test('absolutePath normalises: repeated slashes, "." segments and a trailing slash', () => {
  assert.equal(absolutePath.parse('/var/run//llm-config'), '/var/run/llm-config');
  assert.equal(absolutePath.parse('/var/run/./llm-config/.'), '/var/run/llm-config');
  assert.equal(absolutePath.parse('//etc///app//'), '/etc/app');
  assert.equal(absolutePath.parse('/'), '/');
  assert.throws(() => absolutePath.parse('/etc/../var'), /without "\.\." segments/);
});

test('a mount-path that names the reserved directory in another spelling is refused naming the annotation', () => {
  for (const path of ['/var/run//llm-config', '/var/run/./llm-config', '/var//run/llm-config/files', '/var/./run']) {
    const { response } = mutate(review({ ...base, [A('mount-path')]: path }), context);
    assert.equal(response.allowed, false, path);
    assert.ok(response.status!.message.startsWith(`config.llm-dev-ops.io/mount-path=${path}: `), response.status!.message);
    assert.match(response.status!.message, /\/var\/run\/llm-config/);
  }
});

test("the patch carries the normalised mount path; the app's own mount in another spelling is a clash", () => {
  const ok = mutate(review({ ...base, [A('mount-path')]: '/srv//config/./' }), context).response;
  assert.equal(ok.allowed, true, ok.status?.message);
  assert.ok(JSON.stringify(patchOf(ok)).includes('"mountPath":"/srv/config"'));
  assert.ok(!JSON.stringify(patchOf(ok)).includes('/srv//config'));
  for (const own of ['/etc//llm-config', '/etc/./llm-config', '/etc/llm-config/', '/var/run//llm-config']) {
    const { response } = mutate(review(base, [{ name: 'own', mountPath: own }]), context);
    assert.equal(response.allowed, false, own);
    assert.match(response.status!.message, /^cannot inject: a mount at .* in container "app" already exists/, own);
  }
});

test('--mount-path at the reserved directory is refused when the webhook starts, naming the flag', () => {
  for (const path of ['/var/run/llm-config', '/var/run//llm-config/x', '/var']) {
    assert.throws(
      () => parseOptions(webhookOptionTable, ['--central-url', 'http://c:1', '--mount-path', path], {}),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'LLMC_ERR_INVALID_SETTING');
        assert.match(error.message, new RegExp(`^--mount-path=${path.replaceAll('/', '\\/')}: .*/var/run/llm-config`));
        return true;
      },
      path,
    );
  }
  assert.equal(parseOptions(webhookOptionTable, ['--central-url', 'http://c:1', '--mount-path', '/srv//cfg'], {}).mountPath, '/srv/cfg');
});
