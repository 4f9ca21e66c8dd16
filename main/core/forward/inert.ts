/**
 * Text a collector sent (a response body, an error message) made safe to keep in a status and
 * print on one line: hidden and control characters (visible.ts's set) become spaces, runs of
 * spaces one, and it is bounded.
 */
import { visibleText } from '../text/visible.js';

export const REASON_TEXT_LIMIT = 200;

export function inertText(text: string, limit = REASON_TEXT_LIMIT): string {
  const flat = visibleText(text, () => ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > limit ? `${chars.slice(0, limit - 1).join('')}…` : flat;
}
