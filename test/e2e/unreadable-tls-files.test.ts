// An unreadable --ca-file, --client-cert or --client-key stops init and the relay at start
// with one line naming the flag and the file (one reader for both: src/http/tls-settings.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CliProcess, tempDir } from '../helpers/cli-process.ts';

for (const flag of ['--ca-file', '--client-cert'] as const) {
  const extra = flag === '--client-cert' ? ['--client-key', '/dev/null'] : [];
  test(`init and relay: an unreadable ${flag} is exit 2 and one line naming it`, async (t) => {
    const dir = await tempDir(t);
    const missing = join(dir, 'missing.pem');
    const commands = {
      init: [
        'init',
        '--central-url',
        'https://127.0.0.1:1',
        '--namespaces',
        'a',
        '--output-dir',
        join(dir, 'o'),
        '--cache-dir',
        join(dir, 'c'),
      ],
      relay: [
        'relay',
        '--central-url',
        'https://127.0.0.1:1',
        '--auth',
        'none',
        '--addr',
        '127.0.0.1:0',
        '--admin-addr',
        '127.0.0.1:0',
        '--state-dir',
        join(dir, 's'),
      ],
    };
    for (const [name, args] of Object.entries(commands)) {
      const cli = new CliProcess([...args, flag, missing, ...extra]);
      assert.equal(await cli.exitCode(), 2, name);
      assert.equal(cli.stderrText.at(-1), `llm-config ${name}: ${flag}=${missing}: a readable PEM file (ENOENT)`);
    }
  });
}
