import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { cropRgba, encodePng, encodePngSync, encodeRegion } from '../../main/core/desktop/png.js';

// PNG encoding of screen regions: what is encoded decodes (with pngjs's own reader) to exactly
// the pixels of the region.

const WIDTH = 40;
const HEIGHT = 30;
const screen = Buffer.alloc(WIDTH * HEIGHT * 4);
for (let y = 0; y < HEIGHT; y++) {
  for (let x = 0; x < WIDTH; x++) screen.set([x * 6, y * 8, (x + y) % 256, 255], (y * WIDTH + x) * 4);
}

describe('screen PNG encoding', () => {
  it('crops a region row by row, into a reused buffer when it fits', () => {
    const region = cropRgba(screen, WIDTH, { x: 5, y: 7, w: 3, h: 2 });
    expect([...region.subarray(0, 4)]).toEqual([30, 56, 12, 255]);
    expect([...region.subarray(12, 16)]).toEqual([30, 64, 13, 255]);
    const scratch = Buffer.alloc(1000);
    const into = cropRgba(screen, WIDTH, { x: 5, y: 7, w: 3, h: 2 }, scratch);
    expect(into.buffer).toBe(scratch.buffer);
    expect(into.equals(region)).toBe(true);
  });

  it('encodes the whole screen and a region losslessly', async () => {
    const whole = PNG.sync.read(await encodePng(Buffer.from(screen), WIDTH, HEIGHT));
    expect([whole.width, whole.height]).toEqual([WIDTH, HEIGHT]);
    expect(whole.data.equals(screen)).toBe(true);

    const rect = { x: 13, y: 4, w: 20, h: 9 };
    const part = PNG.sync.read(await encodeRegion(screen, WIDTH, rect));
    expect([part.width, part.height]).toEqual([rect.w, rect.h]);
    expect(part.data.equals(cropRgba(screen, WIDTH, rect))).toBe(true);

    expect(PNG.sync.read(encodePngSync(Buffer.from(screen), WIDTH, HEIGHT)).data.equals(screen)).toBe(true);
  });
});
