// What the CLI prints is read by a terminal, which obeys control characters: an agent that gets
// one onto the screen can write the clipboard (OSC 52), set the window title, move the cursor,
// clear the screen or overwrite a line (CR), and bidi controls reorder what a person reads. Every
// character of that kind in text Airlock did not write itself is shown as a visible escape instead.

/** C0 and C1 controls, DEL, the line and paragraph separators, and the bidi controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_TEST = new RegExp(UNSAFE.source);
/** The same, minus C0 (JSON.stringify already escapes C0 inside strings). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** What the sink lets through: a newline, and Airlock's own colours (SGR: ESC [ digits m). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SINK = /\x1b\[[0-9;]*m|\n|[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(char: string): string {
  return SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** One agent-derived string, inert: every control, newline and bidi character as a visible escape. */
export function inert(text: string): string {
  return UNSAFE_TEST.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/** Every string in a value (object keys too) made inert; the same object when nothing needed it. */
export function inertDeep<T>(value: T): T {
  return inertValue(value) as T;
}

function inertValue(value: unknown): unknown {
  if (typeof value === 'string') return inert(value);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const made = inertValue(item);
      if (made !== item) (copy ??= [...value])[i] = made;
    });
    return copy ?? value;
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const entries = Object.entries(value).map(([key, item]) => {
      const safeKey = inert(key);
      const made = inertValue(item);
      if (safeKey !== key || made !== item) changed = true;
      return [safeKey, made] as const;
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}

/**
 * The last line of defence at the sink (stdout and stderr): whatever reaches it, only newlines and
 * colour codes pass as they are. Escapes use JSON's `\uXXXX` form, so JSON stays valid JSON.
 */
export function terminalSafe(text: string): string {
  return text.replace(SINK, (match) => (match === '\n' || match.length > 1 ? match : `\\u${match.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 but leaves C1, DEL and bidi characters raw; here
 * they are `\uXXXX` too. Still valid JSON, and it parses back to exactly the same value.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
