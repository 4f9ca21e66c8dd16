/**
 * The exact text of a member of a JSON object line. A webhook item carries the record's stored line
 * verbatim as its `record` member; its hash covers those bytes, so the verifier takes them as they
 * are instead of re-serialising what JSON.parse made of them. Only for text JSON.parse accepted.
 */

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function skipWhitespace(text: string, at: number): number {
  while (at < text.length && WHITESPACE.has(text[at]!)) at += 1;
  return at;
}

/** The index just past the string starting at `at` (a `"`). */
function skipString(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

/** The index just past the value starting at `at`. Iterative: nesting depth is the sender's to choose. */
export function skipJsonValue(text: string, at: number): number {
  const first = text[at];
  if (first === '"') return skipString(text, at);
  if (first !== '{' && first !== '[') {
    let i = at;
    while (i < text.length && !WHITESPACE.has(text[i]!) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i += 1;
    return i;
  }
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const char = text[i];
    if (char === '"') i = skipString(text, i) - 1;
    else if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** The text of the top-level member `key` of the object `text` (the last one, as JSON.parse keeps), or undefined. */
export function rawMember(text: string, key: string): string | undefined {
  let at = skipWhitespace(text, 0);
  if (text[at] !== '{') return undefined;
  at += 1;
  let found: string | undefined;
  for (;;) {
    at = skipWhitespace(text, at);
    if (text[at] !== '"') return found;
    const keyEnd = skipString(text, at);
    const name = keyName(text.slice(at, keyEnd));
    at = skipWhitespace(text, keyEnd);
    if (text[at] !== ':') return found;
    const valueStart = skipWhitespace(text, at + 1);
    const valueEnd = skipJsonValue(text, valueStart);
    if (name === key) found = text.slice(valueStart, valueEnd);
    at = skipWhitespace(text, valueEnd);
    if (text[at] !== ',') return found;
    at += 1;
  }
}

function keyName(quoted: string): string | undefined {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return undefined; // not reached for text JSON.parse accepted
  }
}
