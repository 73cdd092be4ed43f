// Build-time tool of the Dockerfiles (not a CLI command): makes an image ship only what
// its commands can load. From bin/llm-config.js it follows every import (static, and
// dynamic with a literal specifier) through the source files the image copied, then
// follows package-lock.json from the packages those files import. `prune` deletes the
// source files and installed packages outside that closure; `warm` imports everything
// inside it so Node's compile cache (NODE_COMPILE_CACHE) holds all of it, lazily loaded
// modules included. Run from the app root: `node bin/image-prune.ts prune | warm DIR | list`.
//
// A command module that the image did not copy is allowed (bin/cli.ts reports "not part
// of this image"); any other import that does not resolve, or a dynamic import whose
// specifier is computed, fails the build, so a change that the closure cannot follow is
// found when the image is built, not when a pod starts.

import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { constants, enableCompileCache, flushCompileCache, isBuiltin, stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ENTRY = 'bin/llm-config.js';
/** The command table: its dynamic imports may point at folders an image leaves out. */
const COMMAND_TABLE = 'bin/cli.ts';
const SOURCE = /\.(ts|js|mjs|cjs)$/;
/** Any string literal that is a relative module path, however it is used. */
const MODULE_PATH = /(['"`])(\.\.?\/[^'"`\s]+\.(?:ts|js|mjs|cjs))\1/g;

type LockPackage = { dev?: boolean; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
type Lock = { packages: Record<string, LockPackage> };
export type Closure = { files: string[]; packages: string[]; packageImports: string[] };

const STATIC = /(?:^|[\s;}])(?:import|export)\s[^'"`;]*?\bfrom\s*(['"])([^'"\n]+)\1/g;
const BARE = /(?:^|[\s;}])import\s*(['"])([^'"\n]+)\1/g;
const DYNAMIC = /\bimport\s*\(\s*([^)]*?)\s*\)/g;
/** `require('x')` through createRequire: Node ≥ 22.12 loads ES modules that way too (lazy, synchronous loading). */
const REQUIRE = /(?:^|[^.\w])require\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g;
const ANY_REQUIRE = /(?:^|[^.\w])require\s*\(\s*([^)]*?)\s*\)/g;

function specifiersOf(file: string, code: string): { specifier: string; dynamic: boolean }[] {
  const found: { specifier: string; dynamic: boolean }[] = [];
  for (const m of code.matchAll(STATIC)) found.push({ specifier: m[2]!, dynamic: false });
  for (const m of code.matchAll(BARE)) found.push({ specifier: m[2]!, dynamic: false });
  for (const m of code.matchAll(REQUIRE)) found.push({ specifier: m[2]!, dynamic: true });
  for (const m of code.matchAll(ANY_REQUIRE)) {
    const line = code.slice(code.lastIndexOf('\n', m.index) + 1, m.index).trim();
    if (line.startsWith('//') || line.startsWith('*')) continue;
    if (!/^(['"])[^'"]+\1$/.test(m[1]!))
      throw new Error(`${file}: require(${m[1]}) has a computed specifier; image-prune cannot follow it (use a literal)`);
  }
  for (const m of code.matchAll(DYNAMIC)) {
    const line = code.slice(code.lastIndexOf('\n', m.index) + 1, m.index).trim();
    if (line.startsWith('//') || line.startsWith('*')) continue;
    const literal = /^(['"])([^'"]+)\1$/.exec(m[1]!);
    if (!literal) throw new Error(`${file}: import(${m[1]}) has a computed specifier; image-prune cannot follow it (use a literal)`);
    found.push({ specifier: literal[2]!, dynamic: true });
  }
  return found;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Source files reachable from the entry, and the packages they import. */
function walkSources(root: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const mentioned: { file: string; target: string }[] = [];
  const queue = [ENTRY];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    const code = file.endsWith('.ts') ? stripTypeScriptTypes(text) : text;
    for (const { specifier, dynamic } of specifiersOf(file, code)) {
      if (isBuiltin(specifier)) continue;
      if (!specifier.startsWith('.')) {
        if (specifier.startsWith('#')) throw new Error(`${file}: subpath import ${specifier} is not supported by image-prune`);
        packages.add(packageName(specifier));
        continue;
      }
      const target = relative(root, resolve(root, dirname(file), specifier));
      if (existsSync(join(root, target))) queue.push(target);
      else if (!(dynamic && file === COMMAND_TABLE)) throw new Error(`${file}: imports ${specifier}, which is not in the image`);
    }
    for (const m of code.matchAll(MODULE_PATH)) mentioned.push({ file, target: relative(root, resolve(root, dirname(file), m[2]!)) });
  }
  // Self-check: a module path written in the code but reached by no import this tool
  // follows (a new way of loading) would be pruned and fail in a pod; fail the build.
  for (const { file, target } of mentioned)
    if (!files.has(target) && existsSync(join(root, target)) && file !== COMMAND_TABLE)
      throw new Error(`${file} names ${target}, but no import that image-prune follows loads it; it would be pruned`);
  return { files, packages };
}

/** Node's lookup: node_modules next to the importer, then each parent's. */
function resolvePackage(lock: Lock, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (lock.packages[candidate] && !lock.packages[candidate].dev) return candidate;
    if (base === '') return undefined;
    const at = base.lastIndexOf('/node_modules/');
    base = at === -1 ? '' : base.slice(0, at);
  }
}

export function closure(root: string): Closure {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lock;
  const sources = walkSources(root);
  const kept = new Set<string>();
  const queue: string[] = [];
  for (const name of sources.packages) {
    const path = resolvePackage(lock, '', name);
    if (path === undefined) throw new Error(`the code imports ${name}, which is not a production dependency in package-lock.json`);
    queue.push(path);
  }
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (kept.has(path)) continue;
    kept.add(path);
    const entry = lock.packages[path]!;
    const required = Object.keys(entry.dependencies ?? {});
    for (const name of [...required, ...Object.keys(entry.optionalDependencies ?? {})]) {
      const dep = resolvePackage(lock, path, name);
      if (dep !== undefined) queue.push(dep);
      else if (required.includes(name)) throw new Error(`${path} needs ${name}, which package-lock.json does not install`);
    }
  }
  return { files: [...sources.files].sort(), packages: [...kept].sort(), packageImports: [...sources.packages].sort() };
}

function sourceFilesUnder(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') out.push(...sourceFilesUnder(root, path));
    else if (entry.isFile() && SOURCE.test(entry.name)) out.push(path);
  }
  return out;
}

function prune(root: string, keep: Closure): void {
  // This tool is not reachable from the entry; the Dockerfile removes it after warming.
  const self = relative(root, fileURLToPath(import.meta.url));
  const codeDirs = readdirSync(root).filter((d) => d !== 'node_modules' && !d.startsWith('.') && statSync(join(root, d)).isDirectory());
  const removedFiles = codeDirs.flatMap((d) => sourceFilesUnder(root, d)).filter((f) => f !== self && !keep.files.includes(f));
  for (const file of removedFiles) rmSync(join(root, file));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lock;
  const kept = new Set(keep.packages);
  const removed = Object.keys(lock.packages)
    .filter((path) => path !== '' && !kept.has(path) && existsSync(join(root, path)))
    .sort((a, b) => a.length - b.length);
  for (const path of removed) rmSync(join(root, path), { recursive: true, force: true });
  for (const scope of readdirSync(join(root, 'node_modules')).filter((d) => d.startsWith('@')))
    if (readdirSync(join(root, 'node_modules', scope)).length === 0) rmSync(join(root, 'node_modules', scope), { recursive: true });
  // npm's own bookkeeping: links to removed tools and a hidden lockfile that no longer matches.
  rmSync(join(root, 'node_modules/.bin'), { recursive: true, force: true });
  rmSync(join(root, 'node_modules/.package-lock.json'), { force: true });
  process.stdout.write(
    `image-prune: kept ${keep.files.length} source files and ${keep.packages.length} packages ` +
      `(imports: ${keep.packageImports.join(', ')}); removed ${removedFiles.length} source files and ${removed.length} packages\n`,
  );
}

/**
 * Loads every module of the closure once with the compile cache on in `dir`. Enabled
 * here rather than by NODE_COMPILE_CACHE, so this tool itself stays out of the cache.
 */
async function warm(root: string, keep: Closure, dir: string | undefined): Promise<void> {
  if (dir === undefined) throw new Error('warm needs the cache directory');
  const enabled = enableCompileCache(dir);
  if (enabled.status !== constants.compileCacheStatus.ENABLED) throw new Error(`compile cache not enabled in ${dir}: ${enabled.message}`);
  // bin/ runs the CLI when imported: the Dockerfile warms it with `llm-config --help`.
  for (const file of keep.files.filter((f) => !f.startsWith('bin/'))) await import(pathToFileURL(join(root, file)).href);
  for (const name of keep.packageImports) await import(name);
  flushCompileCache();
  process.stdout.write(`image-prune: warmed ${keep.files.length} source files and ${keep.packageImports.length} packages\n`);
}

async function main(mode: string | undefined, dir: string | undefined): Promise<number> {
  const root = process.cwd();
  const keep = closure(root);
  if (mode === 'prune') prune(root, keep);
  else if (mode === 'warm') await warm(root, keep, dir);
  else if (mode === 'list') process.stdout.write(`${JSON.stringify(keep, null, 2)}\n`);
  else {
    process.stderr.write('usage: node bin/image-prune.ts prune | warm CACHE_DIR | list   (from the app root)\n');
    return 2;
  }
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv[2], process.argv[3]);
  } catch (error) {
    process.stderr.write(`image-prune: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
  // Loaded libraries may hold handles open; the work is done.
  process.exit();
}
