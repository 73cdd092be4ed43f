// Limits a template must meet before Handlebars sees it. Handlebars' parse and
// precompile are superlinear in block nesting and run synchronously: 4,000 nested
// `{{#each}}` (80 KB) blocked the webhook's event loop for over a minute. Every path
// that compiles a template (webhook annotations, agent and init --files) goes through
// compileTemplate, which calls this first.

/** Largest template accepted, in UTF-8 bytes (a whole pod's annotations may be 256 KiB). */
export const MAX_TEMPLATE_BYTES = 64 * 1024;
/** Deepest block nesting accepted; real templates rarely go beyond 3 or 4. */
export const MAX_TEMPLATE_NESTING = 16;
/**
 * Most `{{…}}` tags accepted: compile time grows with the tag count too (10,900 `{{a}}`
 * in 64 KiB took about 2 s unloaded), while literal text is cheap.
 */
export const MAX_TEMPLATE_TAGS = 1000;

// `{{#x`, `{{^x`, `{{/x`, `{{else x`, `{{^ x` (an inverse chain), with optional `~` and
// blanks. Comments and raw blocks are scanned too: counting a block there only refuses
// more, never less, than Handlebars would nest.
const TAG = /\{\{~?\s*(#|\^|\/|else\b)(\s*~?\}\}|[^}]?)/g;

/** Throws an Error naming the limit when the template is too large or nested too deep. */
export function checkTemplateLimits(source: string): void {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > MAX_TEMPLATE_BYTES) {
    throw new Error(`template is ${bytes} bytes, more than the limit of ${MAX_TEMPLATE_BYTES} bytes`);
  }
  const tags = source.split('{{').length - 1;
  if (tags > MAX_TEMPLATE_TAGS) {
    throw new Error(`template has ${tags} {{…}} tags, more than the limit of ${MAX_TEMPLATE_TAGS}`);
  }
  // Each open block adds one level; each `{{else if …}}` (or `{{^ …}}` chain) inside it
  // adds one more, because Handlebars nests the chained block inside the previous one.
  const stack: number[] = [];
  let depth = 0;
  for (const match of source.matchAll(TAG)) {
    const [, kind, rest] = match;
    const bare = rest === '' || /^\s*~?\}\}$/.test(rest ?? '');
    if (kind === '/') {
      depth -= stack.pop() ?? 0;
      continue;
    }
    if ((kind === 'else' || kind === '^') && bare) continue; // a plain {{else}} / {{^}}: same level
    if (kind === '#' || (kind === '^' && stack.length === 0)) stack.push(1);
    else if (stack.length > 0) stack[stack.length - 1]! += 1;
    else stack.push(1);
    depth += 1;
    if (depth > MAX_TEMPLATE_NESTING) {
      throw new Error(`template is nested deeper than ${MAX_TEMPLATE_NESTING} blocks (at character ${match.index + 1})`);
    }
  }
}
