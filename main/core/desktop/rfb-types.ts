// The RFB client's interface to what carries its bytes and to whoever shows the screen.
import type { AirlockError } from '../errors.js';

/** Where the client's messages go (the exec stream's stdin). */
export interface RfbSink { write(data: Buffer): unknown }

export interface RfbRect { x: number; y: number; w: number; h: number }

export interface RfbHandlers {
  /** ServerInit arrived and the client sent its pixel format, encodings and first request. */
  onReady?(init: { width: number; height: number; name: string }): void;
  /** One FramebufferUpdate was applied to `framebuffer`: the rectangles it changed. */
  onUpdate?(rects: RfbRect[]): void;
  /** DesktopSize: the framebuffer was replaced by a new, black one of this size. */
  onResize?(width: number, height: number): void;
  /** A protocol violation, a refusal from the server or a budget exceeded; the client ignores input after this. */
  onError?(error: AirlockError): void;
  /** The backlog that made push() return false has been worked off: the source may resume. */
  onDrain?(): void;
}
