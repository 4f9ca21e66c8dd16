/**
 * Keyboard and mouse as the agent's X screen understands them: X11 keysyms for keys (what RFB
 * sends), and the X button mask for the pointer.
 */

/** Keys that are not characters, by KeyboardEvent.key; left/right modifiers by KeyboardEvent.code. */
const NAMED: Record<string, number> = {
  Enter: 0xff0d, Backspace: 0xff08, Tab: 0xff09, Escape: 0xff1b, Delete: 0xffff, Insert: 0xff63,
  Home: 0xff50, End: 0xff57, PageUp: 0xff55, PageDown: 0xff56,
  ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, ArrowDown: 0xff54,
  Shift: 0xffe1, Control: 0xffe3, Alt: 0xffe9, Meta: 0xffeb, CapsLock: 0xffe5, AltGraph: 0xfe03,
  ContextMenu: 0xff67,
};
const RIGHT_HAND: Record<string, number> = { ShiftRight: 0xffe2, ControlRight: 0xffe4, AltRight: 0xffea, MetaRight: 0xffec };

/** The keysym of a key event's key, or undefined for keys the screen has no use for (dead keys, media keys). */
export function keysymOf(key: string, code = ''): number | undefined {
  const right = RIGHT_HAND[code];
  if (right !== undefined && NAMED[key] !== undefined) return right;
  const named = NAMED[key];
  if (named !== undefined) return named;
  const fn = /^F([1-9]|1[0-2])$/.exec(key);
  if (fn) return 0xffbe + Number(fn[1]) - 1;
  const chars = [...key];
  if (chars.length !== 1) return undefined;
  const point = chars[0]!.codePointAt(0)!;
  if (point < 0x20 || (point >= 0x7f && point < 0xa0)) return undefined; // control characters
  // Latin-1 keysyms are the code points themselves; the rest of Unicode is 0x01000000 + code point.
  return point <= 0xff ? point : 0x0100_0000 + point;
}

/** DOM MouseEvent.buttons (1 left, 2 right, 4 middle) as the X mask (1 left, 2 middle, 4 right). */
export function xButtons(domButtons: number): number {
  return (domButtons & 1) | (domButtons & 4 ? 2 : 0) | (domButtons & 2 ? 4 : 0);
}

/** The X "buttons" of a wheel notch: 8 scrolls up, 16 down. */
export function wheelButton(deltaY: number): number {
  return deltaY < 0 ? 8 : 16;
}
