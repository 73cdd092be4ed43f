// Java .properties, escaped as java.util.Properties#store does: backslash escapes for
// separators, comment starts and controls, \uXXXX for everything outside printable
// ASCII, so the file reads back the same under ISO-8859-1 and UTF-8 alike.

const SIMPLE: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\f': '\\f' };

function escapeText(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const code = text.charCodeAt(i);
    if (SIMPLE[ch] !== undefined) out += SIMPLE[ch];
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else if (ch === ' ' && (isKey || i === 0)) out += '\\ ';
    else if ('=:#!'.includes(ch)) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

export function renderProperties(source: unknown): string {
  const object = typeof source === 'object' && source !== null && !Array.isArray(source) ? source : { value: source };
  return Object.entries(object)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${escapeText(key, true)}=${escapeText(typeof value === 'string' ? value : JSON.stringify(value), false)}\n`)
    .join('');
}
