#!/usr/bin/env node
// Entry point. Plain JavaScript so that an old Node gets a clear message instead of a
// syntax error; everything else is TypeScript that Node 24 runs directly.
import module from 'node:module';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`llm-config: Node.js 24 or newer is required (this is ${process.version})\n`);
  process.exit(2);
}
// The compile cache keeps V8 code and stripped TypeScript on disk (NODE_COMPILE_CACHE,
// else the OS temp dir): a warm start skips type stripping, whose WASM compiler costs
// ~18 MiB of memory and tens of milliseconds. The images warm it at build time. A
// read-only or missing cache directory only means a slower start.
try {
  module.enableCompileCache?.();
} catch {
  // not fatal
}
await import('./cli.ts');
