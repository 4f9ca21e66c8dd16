// The RFB client's side of the wire: the messages it sends, the encodings it asks for, and the
// errors it ends a session with.
import { AirlockError } from '../errors.js';

export const ENCODING_RAW = 0;
export const ENCODING_COPYRECT = 1;
export const ENCODING_DESKTOP_SIZE = -223;

// SetPixelFormat: 32 bits per pixel, depth 24, little-endian, true colour, channel maxima 255,
// shifts red 0, green 8, blue 16, then padding.
const SET_PIXEL_FORMAT = Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);

/** SetPixelFormat, then SetEncodings: Raw, CopyRect and DesktopSize only. */
export function clientSetup(): Buffer {
  const encodings = [ENCODING_RAW, ENCODING_COPYRECT, ENCODING_DESKTOP_SIZE];
  const message = Buffer.alloc(4 + encodings.length * 4);
  message[0] = 2;
  message.writeUInt16BE(encodings.length, 2);
  encodings.forEach((encoding, i) => message.writeInt32BE(encoding, 4 + i * 4));
  return Buffer.concat([SET_PIXEL_FORMAT, message]);
}

/** FramebufferUpdateRequest for the region from the top-left corner to width × height. */
export function updateRequest(incremental: boolean, width: number, height: number): Buffer {
  const message = Buffer.from([3, incremental ? 1 : 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  message.writeUInt16BE(width, 6);
  message.writeUInt16BE(height, 8);
  return message;
}

/** PointerEvent, clamped to a width × height screen. */
export function pointerEvent(x: number, y: number, buttons: number, width: number, height: number): Buffer {
  if (!Number.isInteger(buttons) || buttons < 0 || buttons > 255) throw new AirlockError('bad_argument', `pointer buttons must be a bit mask 0–255, not ${buttons}`);
  if (!Number.isFinite(x) || !Number.isFinite(y)) throw new AirlockError('bad_argument', 'pointer position must be numbers');
  const message = Buffer.from([5, buttons, 0, 0, 0, 0]);
  // Outside the screen is clamped to its edge: a drag that leaves the view still ends somewhere.
  message.writeUInt16BE(Math.min(width - 1, Math.max(0, Math.round(x))), 2);
  message.writeUInt16BE(Math.min(height - 1, Math.max(0, Math.round(y))), 4);
  return message;
}

/** KeyEvent for an X11 keysym. */
export function keyEvent(keysym: number, down: boolean): Buffer {
  if (!Number.isInteger(keysym) || keysym < 0 || keysym > 0xffffffff) throw new AirlockError('bad_argument', `a key must be an X11 keysym (0–0xffffffff), not ${keysym}`);
  const message = Buffer.from([4, down ? 1 : 0, 0, 0, 0, 0, 0, 0]);
  message.writeUInt32BE(keysym, 4);
  return message;
}

/** The stream broke the protocol. */
export function protocol(message: string): AirlockError {
  return new AirlockError('internal', `screen stream: ${message}`, 'the desktop in the task\'s container speaks an unexpected protocol; rebuild it with `airlock image build --desktop`');
}

/** The stream asked for more than a session may cost (rfb-budget.ts). */
export function budgetError(message: string): AirlockError {
  return new AirlockError('internal', `screen stream over its budget: ${message}`, 'the live view was ended to keep Airlock responsive; it is re-opened shortly');
}
