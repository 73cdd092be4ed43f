// What a template may use, checked on the syntax tree at compile time. Handlebars brings
// more than configuration files need, and some of it reaches outside the file: `log`
// prints its arguments (a secret) to the agent's stdout/stderr, partials and decorators
// run other templates or code, `helperMissing`/`blockHelperMissing` are internals. Only
// the documented helpers are allowed (docs/files.md); anything else is refused before the
// program starts, naming the position and what was found, never a value. Like
// template-errors.ts, this imports only Handlebars' types.

import { formatPosition } from './template-errors.ts';

type Node = hbs.AST.Node;
type Call = hbs.AST.MustacheStatement | hbs.AST.SubExpression | hbs.AST.BlockStatement;

/** Helpers used inline ({{json x}}) or as a subexpression. */
export const INLINE_HELPERS: ReadonlySet<string> = new Set(['json', 'yaml', 'base64', 'default', 'lookup']);
/** Block helpers ({{#each x}}…{{/each}}). A block over a key with no arguments is a section. */
export const BLOCK_HELPERS: ReadonlySet<string> = new Set(['if', 'unless', 'each', 'with']);

function at(node: Node, what: string): Error {
  return new Error(`${formatPosition({ line: node.loc.start.line, column: node.loc.start.column + 1 })}: ${what}`);
}

function helperName(call: Call): string | undefined {
  const path = call.path as hbs.AST.PathExpression;
  // a literal ({{"x"}}, {{true}}) or a path with dots, `this`, `../` or `@` is not a helper name
  if (path.type !== 'PathExpression' || path.data || path.depth > 0 || path.parts.length !== 1) return undefined;
  return path.original === path.parts[0] ? path.parts[0] : undefined;
}

function checkCall(call: Call, knownHelpers: ReadonlySet<string>): void {
  const block = call.type === 'BlockStatement';
  const name = helperName(call);
  const hasArguments = call.params.length > 0 || (call.hash?.pairs.length ?? 0) > 0;
  const allowed = block ? BLOCK_HELPERS : INLINE_HELPERS;
  const list = `${[...INLINE_HELPERS].join(', ')}, #${[...BLOCK_HELPERS].join(', #')}`;
  if (name !== undefined && allowed.has(name)) {
    if (!hasArguments) throw at(call, `helper "${name}" needs an argument`);
    return;
  }
  // {{key}} and a section {{#key}}…{{/key}} read the context; anything else calls a helper
  const readsKey = !hasArguments && (call.type !== 'SubExpression' || name === undefined);
  if (readsKey && (name === undefined || !knownHelpers.has(name))) return;
  const shown = name ?? (call.path as hbs.AST.PathExpression).original ?? 'a literal';
  throw at(call, `helper "${shown}" is not available; the helpers are ${list} (docs/files.md)`);
}

/** Throws an Error naming the position of the first construct a template may not use. */
export function checkTemplate(node: Node | undefined | null, knownHelpers: ReadonlySet<string>): void {
  if (node === undefined || node === null) return;
  switch (node.type) {
    case 'Program':
      for (const statement of (node as hbs.AST.Program).body) checkTemplate(statement, knownHelpers);
      return;
    case 'PartialStatement':
    case 'PartialBlockStatement':
      throw at(node, 'partials ({{> …}}) are not supported; a file is one template');
    case 'DecoratorBlock':
    case 'Decorator':
      throw at(node, 'decorators ({{* …}}, {{#* inline}}) are not supported');
    case 'MustacheStatement':
    case 'SubExpression':
    case 'BlockStatement': {
      const call = node as Call;
      checkCall(call, knownHelpers);
      for (const param of call.params) checkTemplate(param, knownHelpers);
      for (const pair of call.hash?.pairs ?? []) checkTemplate(pair.value, knownHelpers);
      if (call.type === 'BlockStatement') {
        checkTemplate(call.program, knownHelpers);
        checkTemplate(call.inverse, knownHelpers);
      }
      return;
    }
    default:
      return;
  }
}
