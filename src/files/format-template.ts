// Handlebars-style templates for rendered files. Strict: a missing key is an error,
// not an empty string; prototype properties are never reachable (Handlebars ≥ 4.6
// blocks them by default and we do not opt back in); no HTML escaping, since these are
// configuration files. Helpers: json, yaml, base64, default, lookup and the blocks #if,
// #unless, #each, #with; everything else Handlebars offers (log, partials, decorators…) is
// refused at compile time (template-checks.ts). `lookup`, `#each` and `#with` of a
// missing key are render errors like `{{missing}}`; `#if`/`#unless` of one is a test.
//
// Errors name the template position and the kind of failure, never a value: Handlebars'
// runtime messages quote the data they failed on, so they are replaced (template-errors.ts).

import Handlebars from 'handlebars';
import { checkTemplateLimits } from './template-limits.ts';
import { toPortableYaml } from './format-yaml.ts';
import { RenderError } from '../errors.ts';
import { checkTemplate } from './template-checks.ts';
import { describeTemplateFailure, formatPosition } from './template-errors.ts';

/** Renders the template for `file` (the name is used in errors only); throws RenderError. */
export type CompiledTemplate = (context: unknown, file?: string) => string;

const engine = Handlebars.create();
const HELPERS = {
  json: (value: unknown) => JSON.stringify(value),
  yaml: (value: unknown) => toPortableYaml(value).trimEnd(),
  base64: (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64'),
  default: (value: unknown, fallback: unknown) => (value === undefined || value === null ? fallback : value),
};
for (const [name, helper] of Object.entries(HELPERS)) engine.registerHelper(name, helper);
/** Every name Handlebars would call as a helper, `log` included: a key by one of these names is not read as a key. */
const HELPER_NAMES: ReadonlySet<string> = new Set([...Object.keys(engine.helpers)]);
// `log` writes its arguments to the console (a secret, into the agent's log); refused at
// compile time too, and gone from the engine in case a check is ever missed.
engine.unregisterHelper('log');

/** A helper's failure, with the position the compile step gave its call (helpers are not told where they are). */
class HelperFailure extends Error {
  readonly at: string;
  constructor(at: string, what: string) {
    super(what);
    this.at = at;
  }
}

/** Hash key added to each `lookup`, `#each` and `#with` call: its template position, "line:column". */
const AT = '__llmc_at';
type HelperOptions = { hash: Record<string, unknown> };
type HelperFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Wraps a built-in so that a missing key (undefined: JSON has no undefined) is an error naming the position. */
function strict(name: string, what: string, isMissing: (args: unknown[], result: () => unknown) => boolean): void {
  const original = engine.helpers[name] as HelperFunction;
  engine.registerHelper(name, function (this: unknown, ...args: unknown[]) {
    const options = args.at(-1) as HelperOptions;
    const at = String(options.hash[AT] ?? '');
    delete options.hash[AT];
    let result: unknown;
    const run = () => (result = original.apply(this, args));
    if (isMissing(args, run)) throw new HelperFailure(at, `${name === 'lookup' ? '' : '#'}${name}: ${what}`);
    return result === undefined ? run() : result;
  });
}
strict('each', 'its argument is not defined', (args) => args.length === 2 && args[0] === undefined);
strict('with', 'its argument is not defined', (args) => args.length === 2 && args[0] === undefined);
strict('lookup', 'the key it looks up is not defined', (_args, run) => run() === undefined);

/** Gives each `lookup`/`#each`/`#with` call its position as a hidden hash argument. */
function markPositions(node: hbs.AST.Node | null | undefined): void {
  if (node === null || node === undefined || typeof node !== 'object') return;
  const call = node as Partial<hbs.AST.BlockStatement> & hbs.AST.Node;
  const path = call.path as hbs.AST.PathExpression | undefined;
  if (path?.type === 'PathExpression' && ['lookup', 'each', 'with'].includes(path.original) && call.params !== undefined) {
    const loc = call.loc;
    const value = `${loc.start.line}:${loc.start.column + 1}`;
    const pair = { type: 'HashPair', key: AT, value: { type: 'StringLiteral', value, original: value, loc }, loc };
    const hash = call.hash ?? ({ type: 'Hash', pairs: [], loc } as unknown as hbs.AST.Hash);
    (hash.pairs as unknown[]).push(pair);
    (call as { hash: hbs.AST.Hash }).hash = hash;
  }
  for (const [key, child] of Object.entries(node)) {
    if (key === 'loc') continue;
    if (Array.isArray(child)) for (const item of child) markPositions(item);
    else if (typeof child === 'object') markPositions(child as hbs.AST.Node);
  }
}

function helperFailure(error: HelperFailure): string {
  const [line, column] = error.at.split(':').map(Number);
  const position = line && column ? { line, column } : undefined;
  return `${formatPosition(position)}: ${error.message}`;
}

/**
 * Handlebars' parse errors are several lines ("Parse error on line 2:", an excerpt, a
 * caret, "Expecting …, got …"); this folds them into one line that keeps all of it.
 * The text is the template's own, which is configuration, not a value.
 */
function parseFailure(error: Error): string {
  const { lineNumber, column } = error as { lineNumber?: unknown; column?: unknown };
  if (typeof lineNumber === 'number' && typeof column === 'number') {
    // a block mismatch ("a doesn't match b - 1:3"): Handlebars put the position in fields
    const what = error.message.replace(/ - \d+:\d+$/, '');
    return `template line ${lineNumber}, column ${column + 1} does not parse: ${what}`;
  }
  const lines = error.message.split('\n');
  const line = /line (\d+)/.exec(lines[0] ?? '')?.[1];
  const expecting = /^Expecting (.*), got (.*)$/.exec(lines.at(-1) ?? '');
  const near = lines.length >= 4 ? ` near ${JSON.stringify(lines[1])}` : '';
  const what = expecting
    ? `expected ${expecting[1]!.replaceAll("'", '')}; got ${expecting[2]!.replaceAll("'", '')}`
    : lines.filter(Boolean).join(' ');
  return `template${line === undefined ? '' : ` line ${line}`} does not parse${near}: ${what}`;
}

/** Compiles at start, so a syntax error stops the program instead of failing at render time. */
export function compileTemplate(source: string): CompiledTemplate {
  checkTemplateLimits(source); // before Handlebars: its parse is superlinear in nesting
  let ast: hbs.AST.Program;
  try {
    ast = engine.parse(source);
    engine.precompile(ast, { strict: true }); // compiles now: block mismatches surface here
  } catch (error) {
    throw new Error(parseFailure(error as Error));
  }
  checkTemplate(ast, HELPER_NAMES);
  markPositions(ast);
  const template = engine.compile(ast, { strict: true, noEscape: true });
  return (context, file = 'template') => {
    try {
      return template(context, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
    } catch (error) {
      if (error instanceof HelperFailure) throw new RenderError(file, helperFailure(error));
      throw new RenderError(file, describeTemplateFailure(ast, error, context, HELPER_NAMES));
    }
  };
}
