/**
 * Draws a watched screen's frames onto a canvas: each is a PNG of one changed region, decoded as
 * soon as it arrives (decoding runs in parallel) but drawn strictly in arrival order, so a late
 * decode never paints an old region over a newer one.
 */
import type { ScreenFrame } from '../../../preload/contract';

export class FramePainter {
  readonly #canvas: HTMLCanvasElement;
  readonly #onFirstFrame: () => void;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  #drawnAt: number[] = [];
  #painted = false;

  constructor(canvas: HTMLCanvasElement, onFirstFrame: () => void) {
    this.#canvas = canvas;
    this.#onFirstFrame = onFirstFrame;
  }

  push(frame: ScreenFrame): void {
    if (this.#closed) return;
    const decoding = createImageBitmap(new Blob([frame.png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
    this.#chain = this.#chain.then(async () => {
      let bitmap: ImageBitmap;
      try {
        bitmap = await decoding;
      } catch {
        return; // a region that does not decode is skipped; the next whole-screen frame repairs it
      }
      try {
        if (!this.#closed) this.#draw(frame, bitmap);
      } finally {
        bitmap.close();
      }
    });
  }

  /** Frames drawn in the last second. */
  fps(now = performance.now()): number {
    this.#drawnAt = this.#drawnAt.filter((t) => now - t < 1000);
    return this.#drawnAt.length;
  }

  close(): void {
    this.#closed = true;
  }

  #draw(frame: ScreenFrame, bitmap: ImageBitmap): void {
    const canvas = this.#canvas;
    if (canvas.width !== frame.width || canvas.height !== frame.height) {
      canvas.width = frame.width;
      canvas.height = frame.height;
    }
    canvas.getContext('2d')?.drawImage(bitmap, frame.x, frame.y);
    this.#drawnAt.push(performance.now());
    if (this.#drawnAt.length > 240) this.#drawnAt.splice(0, this.#drawnAt.length - 240);
    if (!this.#painted) {
      this.#painted = true;
      this.#onFirstFrame();
    }
  }
}
