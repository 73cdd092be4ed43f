// Test-only preload (`node --import test/helpers/module-recorder.ts …`): records the URL
// of every module the process loads, through Node's own synchronous module hooks, which
// see both `import` and `require`, and writes them one per line to the file named by
// LLM_CONFIG_TEST_MODULE_LOG when the process exits, followed by Node's internal modules. It only observes: every hook
// passes through to Node's default resolution and loading.

import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env.LLM_CONFIG_TEST_MODULE_LOG;
if (out !== undefined && out !== '') {
  const loaded = new Set<string>();
  registerHooks({
    load(url, context, nextLoad) {
      loaded.add(url);
      return nextLoad(url, context);
    },
  });
  // Node's own internal modules too (as node-internal:<id>): the hooks do not see them,
  // and some are costly (Node's bundled undici, loaded by an ES import of node:http).
  // moduleLoadList is undocumented, so @types/node does not declare it.
  const { moduleLoadList = [] } = process as unknown as { moduleLoadList?: string[] };
  const internal = () => moduleLoadList.map((m) => `node-internal:${m.replace(/^NativeModule /, '')}`);
  process.on('exit', () => writeFileSync(out, [...loaded, ...internal()].join('\n')));
}
