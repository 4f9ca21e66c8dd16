/**
 * Agent-controlled text, shown inertly. React already escapes HTML; what it does not do is stop a
 * control character, a bidi override or an invisible character from changing what a person reads
 * (U+202E turns `invoice‮fdp.exe` into what looks like `invoiceexe.pdf`; a zero-width space makes
 * one host name look like another). Every such character is shown as a visible escape instead
 * (`\u202e`), by the same definition the CLI uses (main/core/text/visible.ts). api.ts applies this
 * to everything that comes from the main process, so no screen has to remember it.
 */
import { visibleText, visibleTextLines } from '../../../main/core/text/visible';

export function visible(text: string): string {
  return visibleText(text);
}

/** A whole agent-made text shown as lines (an artifact's preview): line breaks and tabs stay (main/core/text/visible.ts). */
export function visibleLines(text: string): string {
  return visibleTextLines(text);
}

/**
 * Every string in a value made visible, object keys too; the same object when nothing needed it
 * (the common case, so the log's hot path allocates nothing). Strings under `keep` keys are
 * identifiers the UI sends back (an agent's id names its manifest file) and stay as they are.
 */
export function visibleDeep<T>(value: T, keep: ReadonlySet<string> = NOTHING): T {
  return made(value, keep) as T;
}

const NOTHING: ReadonlySet<string> = new Set();

function made(value: unknown, keep: ReadonlySet<string>): unknown {
  if (typeof value === 'string') return visible(value);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = made(item, keep);
      if (next !== item) (copy ??= value.slice())[i] = next;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    const safeKey = visible(key);
    const next = keep.has(key) ? item : made(item, keep);
    if (safeKey !== key || next !== item) {
      copy ??= { ...(value as Record<string, unknown>) };
      if (safeKey !== key) delete copy[key];
      copy[safeKey] = next;
    }
  }
  return copy ?? value;
}
