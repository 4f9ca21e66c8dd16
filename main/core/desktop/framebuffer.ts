// The pixel work of the RFB client: a screen is width × height RGBA bytes, rows top to bottom.
import type { RfbRect } from './rfb-types.js';

/** Black and opaque, until the first pixels arrive. */
export function blankScreen(width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 4);
  for (let i = 3; i < pixels.length; i += 4) pixels[i] = 255;
  return pixels;
}

/** Row `row` of a Raw rectangle, as received (R,G,B,x): written opaque. */
export function writeRow(screen: Buffer, width: number, rect: RfbRect, row: number, bytes: Buffer): void {
  const at = ((rect.y + row) * width + rect.x) * 4;
  bytes.copy(screen, at);
  for (let i = at + 3; i < at + rect.w * 4; i += 4) screen[i] = 255;
}

/**
 * The `n`th row of a CopyRect from (sx, sy). Rows go away from the overlap: bottom-up when moving
 * down, so no source row is overwritten before it is read (Buffer#copy handles overlap within a row).
 */
export function copyRow(screen: Buffer, width: number, rect: RfbRect, sx: number, sy: number, n: number): void {
  const r = rect.y > sy ? rect.h - 1 - n : n;
  const from = ((sy + r) * width + sx) * 4;
  screen.copy(screen, ((rect.y + r) * width + rect.x) * 4, from, from + rect.w * 4);
}
