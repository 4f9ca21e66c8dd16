// What the CLI prints is read by a terminal, which obeys control characters: an agent that gets
// one onto the screen can write the clipboard (OSC 52), set the window title, move the cursor,
// clear the screen or overwrite a line (CR); bidi controls reorder what a person reads, and
// zero-width, tag and other invisible characters make one name look like another. Every such
// character in text Airlock did not write itself is shown as a visible escape instead. Which
// characters those are is defined once, for the app too, in core/text/visible.ts.
import { HIDDEN, unitEscape, visibleText } from '../core/text/visible.js';

/** What the sink lets through: Airlock's own colours (SGR: ESC [ digits m), a newline, a kept emoji selector or joiner. */
const SINK = new RegExp(String.raw`\x1b\[[0-9;]*m|\n|${HIDDEN.source}`, 'gu');

/** One agent-derived string, inert: every control, newline, bidi and invisible character as a visible escape. */
export function inert(text: string): string {
  return visibleText(text);
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
  return text.replace(SINK, (match: string, kept: string | undefined) => (kept !== undefined || match === '\n' || match.length > 2 ? match : unitEscape(match)));
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 but leaves C1, DEL, bidi and invisible characters
 * raw; here they are `\uXXXX` too (a tag character as its surrogate pair). Still valid JSON, and it
 * parses back to exactly the same value: `--json` keeps the true string.
 */
export function jsonText(value: unknown, indent?: number): string {
  // C0 left in the text is the indentation's own newlines: every C0 inside a string is escaped already.
  return JSON.stringify(value, null, indent).replace(HIDDEN, (match: string, kept: string | undefined) => (kept !== undefined || match < ' ' ? match : unitEscape(match)));
}
