// YAML that reads back the same to YAML 1.2 readers (the `yaml` library, go-yaml v3) and
// to YAML 1.1 readers (PyYAML's safe_load, go-yaml v2 inside kubectl and many operators).
// The stringifier quotes by the 1.2 core schema only, so `yes`, `on`, `2001-01-01`,
// `1_000`, `1:20`, `=` and `<<` came out plain and a 1.1 reader saw a boolean, a date, a
// number, a merge key or an error. Every single-line string (keys too) is checked by
// reading it as a plain scalar under both versions; when either reads something else it
// is written double-quoted. Multi-line strings are block scalars, read alike by both.

import { Document, isScalar, parseDocument, visit } from 'yaml';

/** True when `text`, written plain, would be read back as that same string by YAML 1.1 and 1.2 readers. */
function plainIsSafe(text: string): boolean {
  // YAML 1.1's merge key and value key: PyYAML resolves them, the `yaml` library reads them as strings
  if (text === '<<' || text === '=') return false;
  for (const version of ['1.1', '1.2'] as const) {
    const doc = parseDocument(text, { version, prettyErrors: false });
    if (doc.errors.length > 0 || doc.warnings.length > 0) return false;
    if (!isScalar(doc.contents) || doc.contents.value !== text) return false;
  }
  return true;
}

/** The YAML text of `value`, strings quoted wherever a 1.1 or 1.2 reader could take them for something else. */
export function toPortableYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && !node.value.includes('\n') && !plainIsSafe(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 });
}
