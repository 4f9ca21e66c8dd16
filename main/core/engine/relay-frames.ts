// The frames Airlock and a task's sidecar (assets/sidecar/sidecar.cjs) exchange over the sidecar's
// stdin and stdout: type (1 byte), connection id (4), payload length (4), payload.
export const FRAME = { OPEN: 1, DATA: 2, END: 3, CLOSE: 4, WINDOW: 5, READY: 6, LOG: 7, STATUS: 8, ARM: 9, REPORT: 10 } as const;
export const HEADER_BYTES = 9;
/** Bytes a sender may have in flight on one connection before the receiver grants more. */
export const WINDOW_BYTES = 256 * 1024;
export const MAX_PAYLOAD = 64 * 1024;

export function encodeFrame(type: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame[0] = type;
  frame.writeUInt32BE(id, 1);
  frame.writeUInt32BE(payload.length, 5);
  payload.copy(frame, HEADER_BYTES);
  return frame;
}

export function windowPayload(bytes: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(bytes, 0);
  return payload;
}

/** A frame stream that breaks the protocol: the sidecar is not to be trusted any further. */
export class FrameError extends Error {}

/**
 * Reassembles frames from a byte stream that may split them anywhere. A frame's length is checked
 * before anything is buffered for it, so a peer cannot make Airlock hold more than one frame's
 * worth of bytes (MAX_PAYLOAD) however it splits or inflates its stream.
 */
export class FrameReader {
  #pending = Buffer.alloc(0);
  readonly #onFrame: (type: number, id: number, payload: Buffer) => void;

  constructor(onFrame: (type: number, id: number, payload: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  /** Throws FrameError on a frame longer than MAX_PAYLOAD. */
  push(chunk: Buffer): void {
    const data = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    let offset = 0;
    while (data.length - offset >= HEADER_BYTES) {
      const length = data.readUInt32BE(offset + 5);
      if (length > MAX_PAYLOAD) throw new FrameError(`a frame of ${length} bytes (the most is ${MAX_PAYLOAD})`);
      if (data.length - offset - HEADER_BYTES < length) break;
      this.#onFrame(data[offset]!, data.readUInt32BE(offset + 1), data.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length));
      offset += HEADER_BYTES + length;
    }
    this.#pending = offset === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(offset));
  }
}
