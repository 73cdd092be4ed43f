// Handlebars-style templates for rendered files. Strict: a missing key is an error,
// not an empty string; prototype properties are never reachable (Handlebars ≥ 4.6
// blocks them by default and we do not opt back in); no HTML escaping, since these are
// configuration files. Helpers: json, yaml, base64, default.

import Handlebars from 'handlebars';
import { stringify as toYaml } from 'yaml';

export type CompiledTemplate = (context: unknown) => string;

const engine = Handlebars.create();
engine.registerHelper('json', (value: unknown) => JSON.stringify(value));
engine.registerHelper('yaml', (value: unknown) => toYaml(value, { lineWidth: 0 }).trimEnd());
engine.registerHelper('base64', (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64'),
);
engine.registerHelper('default', (value: unknown, fallback: unknown) => (value === undefined || value === null ? fallback : value));

/** Compiles at start, so a syntax error stops the program instead of failing at render time. */
export function compileTemplate(source: string): CompiledTemplate {
  const template = engine.compile(source, { strict: true, noEscape: true });
  try {
    engine.precompile(source, { strict: true }); // parses now: syntax errors surface here
  } catch (error) {
    throw new Error(`template does not parse: ${(error as Error).message.split('\n')[0]}`);
  }
  return (context) => template(context, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
}
