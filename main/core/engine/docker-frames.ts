export type StreamName = 'stdout' | 'stderr';

/**
 * Splits the engine's multiplexed attach stream (no TTY): 8-byte frame headers — stream id,
 * three zero bytes, big-endian payload length — each followed by its payload. Frames may be
 * split across reads anywhere; payload pieces are handed on as they arrive, never buffered whole.
 */
export class DockerFrameParser {
  #header = Buffer.alloc(0);
  #remaining = 0;
  #stream: StreamName = 'stdout';
  readonly #onPayload: (stream: StreamName, piece: Buffer) => void;

  constructor(onPayload: (stream: StreamName, piece: Buffer) => void) {
    this.#onPayload = onPayload;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining === 0) {
        const take = chunk.subarray(offset, offset + 8 - this.#header.length);
        this.#header = this.#header.length === 0 ? Buffer.from(take) : Buffer.concat([this.#header, take]);
        offset += take.length;
        if (this.#header.length < 8) return;
        this.#stream = this.#header[0] === 2 ? 'stderr' : 'stdout';
        this.#remaining = this.#header.readUInt32BE(4);
        this.#header = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - offset);
      this.#onPayload(this.#stream, chunk.subarray(offset, offset + take));
      this.#remaining -= take;
      offset += take;
    }
  }
}
