// One definition, for the app and the CLI alike, of the characters that change what a person reads
// without being seen: controls (a terminal obeys them), line and paragraph separators, bidi controls
// (U+202E turns `invoice‮fdp.exe` into what reads as `invoiceexe.pdf`), zero-width and other
// invisible format characters (a host or file name that looks like another), tag characters
// (invisible ASCII: hidden instructions), and variation selectors (a run of them can carry a hidden
// message). Text Airlock did not write itself shows each of them as a visible escape instead.
// Pure, no imports: compiled into the renderer (tsconfig.web.json) as well as Node.

/**
 * Cc (C0, DEL, C1), Cf (format: bidi, zero-width, soft hyphen, word joiner, BOM, invisible
 * operators, tags…), the line and paragraph separators, the whole tag block, the combining grapheme
 * joiner, the Hangul fillers (blank but wide), and every variation selector — except the two
 * meaningful uses kept below.
 */
const HIDDEN_CLASS = String.raw`\p{Cc}\p{Cf}\u2028\u2029\u{E0000}-\u{E007F}\u034F\u115F\u1160\u3164\uFFA0\u180B-\u180F\uFE00-\uFE0F\u{E0100}-\u{E01EF}`;

/**
 * Kept as they are, because they change nothing a person could misread: one emoji/text presentation
 * selector (U+FE0E/U+FE0F) right after an emoji, a digit, `#` or `*`; a zero-width joiner between two
 * emoji (👩‍💻). Anything more (a second selector, a joiner anywhere else) is shown.
 */
const KEPT = String.raw`(?<=[\p{Extended_Pictographic}0-9#*])[\uFE0E\uFE0F](?![\uFE00-\uFE0F\u{E0100}-\u{E01EF}])|(?<=\p{Extended_Pictographic}[\uFE0F\u{1F3FB}-\u{1F3FF}]?)\u200D(?=\p{Extended_Pictographic})`;

/** Every hidden character, one match each; the first group is set when it is one of the kept uses. */
// eslint-disable-next-line no-misleading-character-class -- lone selectors and joiners are what this matches
export const HIDDEN = new RegExp(`(${KEPT})|[${HIDDEN_CLASS}]`, 'gu');
// eslint-disable-next-line no-misleading-character-class -- the same
const HIDDEN_TEST = new RegExp(`[${HIDDEN_CLASS}]`, 'u');

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `\uXXXX` for each UTF-16 unit (a tag character is a pair, `\udb40\udc41`): the form JSON and
 * JavaScript read back, so an escape is also valid inside a JSON string.
 */
export function unitEscape(char: string): string {
  let text = '';
  for (let i = 0; i < char.length; i++) text += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return text;
}

/** How a hidden character is shown to a person: `\n`, `\t`, `\r` short; anything else as `\uXXXX`. */
export function visibleEscape(char: string): string {
  return SHORT[char] ?? unitEscape(char);
}

/** Whether a string holds any character of that kind (the cheap check before any copy is made). */
export function hasHidden(text: string): boolean {
  return HIDDEN_TEST.test(text);
}

/**
 * One string from an agent, a manifest or a remote host, as it should be shown: every hidden
 * character as a visible escape, everything else (letters of any script, emoji) as it is.
 */
export function visibleText(text: string, escape: (char: string) => string = visibleEscape): string {
  if (!hasHidden(text)) return text;
  return text.replace(HIDDEN, (match: string, kept: string | undefined) => (kept !== undefined ? match : escape(match)));
}

/**
 * A whole text shown as lines (an artifact's preview in the app): the same escapes, except that a
 * line break and a tab stay what they are (a CRLF line end is a line break); a lone CR, which would
 * let the text redraw a line wherever it is shown raw, is shown as `\r`.
 */
export function visibleTextLines(text: string): string {
  return visibleText(text.replace(/\r\n/g, '\n'), (char) => (char === '\n' || char === '\t' ? char : visibleEscape(char)));
}
