// Strings the audit trail can hold: canonical JSON (RFC 8785) refuses a lone surrogate, which JSON
// from an agent (`"\ud800"`) can carry. (String.prototype.isWellFormed is ES2024.)
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function isWellFormed(text: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return !LONE_SURROGATE.test(text);
}

/** Lone surrogates replaced by U+FFFD, as a UTF-8 decoder would. */
export function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}
