// Describes a template failure by file position and kind, never by value. Handlebars'
// own messages carry the data they failed on ("Cannot use 'in' operator to search for
// 'x' in <the secret>", '"x" not defined in <an array's items>'), so they are never
// passed on: the description is built from the template's syntax tree and the *types*
// found in the data. Only the type of the AST is imported, so this module does not
// load Handlebars (format-template.ts is the one file that does); `hbs` is the global
// namespace of Handlebars' type declarations.

type Node = hbs.AST.Node;
type PathExpression = hbs.AST.PathExpression;

/** Block helpers that keep the context: their body (or {{else}}) resolves paths like outside. */
const SAME_CONTEXT_BLOCKS = new Set(['if', 'unless']);

export type TemplatePosition = { readonly line: number; readonly column: number };

/** 1-based line and column, as editors count. */
export function formatPosition(position: TemplatePosition | undefined): string {
  return position === undefined ? 'template' : `template line ${position.line}, column ${position.column}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function positionOf(node: Node): TemplatePosition {
  return { line: node.loc.start.line, column: node.loc.start.column + 1 };
}

/** Why `path` cannot be read from `context`, naming only the path and types; undefined when it can. */
function pathProblem(path: PathExpression, context: unknown): string | undefined {
  let current = context;
  for (let i = 0; i < path.parts.length; i++) {
    const part = path.parts[i]!;
    if (typeof current !== 'object' || current === null) {
      return i === 0
        ? `"${path.original}": the context here is ${typeName(current)}, not an object with keys`
        : `"${path.original}": "${path.parts.slice(0, i).join('.')}" is ${typeName(current)}, not an object with keys`;
    }
    if (!Object.hasOwn(current, part)) return `"${path.original}" is not defined`;
    current = (current as Record<string, unknown>)[part];
  }
  return undefined;
}

function resolve(path: PathExpression, context: unknown): unknown {
  return pathProblem(path, context) === undefined
    ? path.parts.reduce<unknown>((value, part) => (value as Record<string, unknown>)[part], context)
    : undefined;
}

type Found = { readonly node: PathExpression; readonly problem: string | undefined };

/** Blocks looked into per item: enough to find a failing one, bounded for huge lists. */
const MAX_ITEMS = 100;

/**
 * The contexts a block's body renders with, as Handlebars would choose them: `with` and
 * a section over an object → that object; `each` and a section over a list → each item;
 * `true` → unchanged; nothing when the body would not render.
 */
function blockContexts(name: string, source: PathExpression | undefined, context: unknown, helpers: ReadonlySet<string>): unknown[] {
  if (source === undefined || source.data || source.depth > 0 || helpers.has(source.parts[0] ?? '')) return [];
  const value = source.parts.length === 0 ? context : resolve(source, context);
  if (value === undefined || value === null || value === false) return [];
  if (name === 'each' || Array.isArray(value)) {
    const items = Array.isArray(value) ? value : typeof value === 'object' ? Object.values(value) : [];
    return items.slice(0, MAX_ITEMS);
  }
  return value === true ? [context] : [value];
}

/**
 * Every path expression in document order, with what is wrong with it in the context it
 * is resolved in. Blocks that change the context (each, with, sections) are followed with
 * the context Handlebars would give their body; other helpers' bodies are not followed.
 */
function* rootPaths(node: Node | undefined, context: unknown, helpers: ReadonlySet<string>): Generator<Found> {
  if (node === undefined || node === null) return;
  const n = node as unknown as Record<string, unknown> & { type: string };
  switch (n.type) {
    case 'Program':
      for (const statement of (node as hbs.AST.Program).body) yield* rootPaths(statement, context, helpers);
      return;
    case 'MustacheStatement':
    case 'SubExpression':
    case 'BlockStatement': {
      const call = node as hbs.AST.MustacheStatement & { program?: hbs.AST.Program; inverse?: hbs.AST.Program };
      const isCall = call.params.length > 0 || (call.hash?.pairs.length ?? 0) > 0 || n.type === 'BlockStatement';
      if (!isCall) yield* rootPaths(call.path, context, helpers);
      for (const param of call.params) yield* rootPaths(param, context, helpers);
      for (const pair of call.hash?.pairs ?? []) yield* rootPaths(pair.value, context, helpers);
      if (n.type !== 'BlockStatement') return;
      const path = call.path as PathExpression;
      const name = path.original;
      // Follow only the branch Handlebars renders, so the problem found is the one it hit.
      if (SAME_CONTEXT_BLOCKS.has(name)) {
        const param = call.params[0];
        const value = param?.type === 'PathExpression' ? resolve(param as PathExpression, context) : true;
        const truthy = Boolean(value) && !(Array.isArray(value) && value.length === 0);
        yield* rootPaths(truthy === (name === 'if') ? call.program : call.inverse, context, helpers);
      } else if (name === 'with' || name === 'each' || !helpers.has(name)) {
        const source = name === 'with' || name === 'each' ? (call.params[0] as PathExpression | undefined) : path;
        const contexts = blockContexts(name, source?.type === 'PathExpression' ? source : undefined, context, helpers);
        for (const inner of contexts) yield* rootPaths(call.program, inner, helpers);
        if (contexts.length === 0) yield* rootPaths(call.inverse, context, helpers); // {{else}}: the outer context
      }
      return;
    }
    case 'PathExpression': {
      const path = node as PathExpression;
      // @data, ../parent, a bare `this` and helper names are not keys of the context.
      if (path.data || path.depth > 0 || path.parts.length === 0 || helpers.has(path.parts[0]!)) return;
      yield { node: path, problem: pathProblem(path, context) };
      return;
    }
    default:
      return;
  }
}

/** Finds the path at a Handlebars error position (0-based column, as Handlebars counts). */
function pathAt(ast: Node, line: number, column: number): PathExpression | undefined {
  let found: PathExpression | undefined;
  const visit = (value: unknown): void => {
    if (found !== undefined || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    const node = value as Record<string, unknown> & Partial<PathExpression>;
    if (node.type === 'PathExpression' && node.loc?.start.line === line && node.loc.start.column === column) {
      found = node as PathExpression;
      return;
    }
    for (const [key, child] of Object.entries(node)) if (key !== 'loc') visit(child);
  };
  visit(ast);
  return found;
}

/**
 * The safe description of a render failure: position and kind. `error` is only
 * inspected for Handlebars' numeric position fields, never for its message.
 */
export function describeTemplateFailure(ast: Node, error: unknown, context: unknown, helpers: ReadonlySet<string>): string {
  const at = error as { lineNumber?: unknown; column?: unknown };
  if (typeof at.lineNumber === 'number' && typeof at.column === 'number') {
    const path = pathAt(ast, at.lineNumber, at.column);
    const position = { line: at.lineNumber, column: at.column + 1 };
    if (path !== undefined) {
      // the problem as found in the context the path is resolved in (inside blocks too)
      const found = [...rootPaths(ast, context, helpers)].find((f) => f.node === path && f.problem !== undefined);
      return `${formatPosition(position)}: ${found?.problem ?? `"${path.original}" is not defined`}`;
    }
    return `${formatPosition(position)}: a helper or block was given arguments it does not accept`;
  }
  for (const { node, problem } of rootPaths(ast, context, helpers)) {
    if (problem !== undefined) return `${formatPosition(positionOf(node))}: ${problem}`;
  }
  return `${formatPosition(undefined)}: a path inside a block (each, with, a section) reads a key of a value that is not an object with keys`;
}
