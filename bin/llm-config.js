#!/usr/bin/env node
// Entry point. Plain JavaScript so that an old Node gets a clear message instead of a
// syntax error; everything else is TypeScript that Node 24 runs directly.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`llm-config: Node.js 24 or newer is required (this is ${process.version})\n`);
  process.exit(2);
}
await import('./cli.ts');
