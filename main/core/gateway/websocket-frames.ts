// One direction of an upgraded WebSocket stream, read frame by frame (RFC 6455 section 5): each
// data message is held whole (bounded) while its payload — unmasked, and inflated when
// permessage-deflate compressed it — is scanned; only then are its frames passed on unchanged.
// A match, a malformed frame or a message over the bound ends the stream before any of the
// message has gone. Control frames (at most 125 bytes) are scanned and passed on at once.
import zlib from 'node:zlib';
import type { Found, SecretScanner, StreamScan } from './secret-scanner.js';

/** The most one message may take, as it was sent (held until it is checked) … */
export const MAX_WS_MESSAGE = 8 * 1024 * 1024;
/** … and once inflated (scanned as it inflates, never held). */
export const MAX_WS_INFLATED = 64 * 1024 * 1024;
/**
 * What each frame held costs beyond its bytes (its buffers and bookkeeping), counted with them:
 * a flood of empty fragments would otherwise hold hundreds of MiB while counting a few.
 */
export const WS_FRAME_COST = 512;

const INFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export interface FrameGateOptions<T> {
  /** Frames from the client are masked, from the server not (RFC 6455 5.1): anything else is refused. */
  fromClient: boolean;
  deflate: boolean;
  /** The sender starts every message's compression afresh. */
  noContextTakeover: boolean;
  scanner: SecretScanner<T> | undefined;
  /** Takes `bytes` of the task's allowance for held data; false when over it. */
  hold(bytes: number): boolean;
  release(bytes: number): void;
  pass(frames: Buffer): void;
  /** The stream must end: a value was found, or the frames could not be read. Called once. */
  stop(why: { found: Found<T> } | { reason: string; code: number }): void;
}

interface Frame {
  fin: boolean;
  rsv1: boolean;
  /** RSV2 or RSV3: no extension that gives them a meaning is ever agreed. */
  rsv23: boolean;
  opcode: number;
  raw: Buffer;
  payload: Buffer;
}

export class FrameGate<T> {
  readonly #options: FrameGateOptions<T>;
  #pending: Buffer = Buffer.alloc(0);
  /** The frames of the message under way, and its payload as sent. */
  #held: Buffer[] = [];
  /** What the message under way costs (bytes and per-frame cost), against MAX_WS_MESSAGE. */
  #messageBytes = 0;
  /** All this gate holds of the task's allowance: the message under way and the frames still queued. */
  #heldBytes = 0;
  #payload: Buffer[] = [];
  #compressed = false;
  #inMessage = false;
  #stopped = false;
  #inflater: zlib.InflateRaw | undefined;
  /** Frames are handled one after another (inflating is asynchronous). */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: FrameGateOptions<T>) {
    this.#options = options;
  }

  push(chunk: Buffer): void {
    if (this.#stopped) return;
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (let frame = this.#nextFrame(); frame && !this.#stopped; frame = this.#nextFrame()) {
      const ready = frame;
      // Counted as it is read, not as it is handled: frames keep arriving while a message inflates.
      const cost = ready.raw.length + WS_FRAME_COST;
      if (!this.#options.hold(cost)) {
        this.#stop({ reason: 'frames while earlier ones were checked, more held for the task than it may', code: 1009 });
        return;
      }
      this.#heldBytes += cost;
      this.#queue = this.#queue.then(() => this.#handle(ready, cost)).catch((error: unknown) => this.#stop({ reason: `the frames could not be read (${(error as Error).message})`, code: 1007 }));
    }
  }

  /** Settles once every frame received so far has been handled (passed on, or the stream stopped). */
  drained(): Promise<void> {
    return this.#queue;
  }

  /** Gives back what was held; the stream is over. */
  close(): void {
    this.#stopped = true;
    this.#options.release(this.#heldBytes);
    this.#heldBytes = 0;
    this.#messageBytes = 0;
    this.#held = [];
    this.#payload = [];
    this.#inflater?.close();
  }

  #stop(why: Parameters<FrameGateOptions<T>['stop']>[0]): void {
    if (this.#stopped) return;
    this.close();
    this.#options.stop(why);
  }

  #nextFrame(): Frame | undefined {
    const data = this.#pending;
    if (data.length < 2) return undefined;
    const masked = (data[1]! & 0x80) !== 0;
    if (masked !== this.#options.fromClient) {
      this.#stop({ reason: this.#options.fromClient ? 'a frame from the sandbox was not masked' : 'a frame from the upstream was masked', code: 1002 });
      return undefined;
    }
    let length = data[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (data.length < 4) return undefined;
      length = data.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (data.length < 10) return undefined;
      const big = data.readBigUInt64BE(2);
      if (big > BigInt(MAX_WS_MESSAGE)) {
        this.#stop({ reason: `a frame of ${big} bytes (more than ${MAX_WS_MESSAGE / 1024 / 1024} MiB)`, code: 1009 });
        return undefined;
      }
      length = Number(big);
      offset = 10;
    }
    if (length > MAX_WS_MESSAGE) {
      this.#stop({ reason: `a frame of ${length} bytes (more than ${MAX_WS_MESSAGE / 1024 / 1024} MiB)`, code: 1009 });
      return undefined;
    }
    const maskAt = offset;
    if (masked) offset += 4;
    if (data.length < offset + length) return undefined;
    const raw = data.subarray(0, offset + length);
    const payload = Buffer.from(data.subarray(offset, offset + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= data[maskAt + (i % 4)]!;
    this.#pending = data.subarray(offset + length);
    return { fin: (data[0]! & 0x80) !== 0, rsv1: (data[0]! & 0x40) !== 0, rsv23: (data[0]! & 0x30) !== 0, opcode: data[0]! & 0x0f, raw: Buffer.from(raw), payload };
  }

  async #handle(frame: Frame, cost: number): Promise<void> {
    if (this.#stopped) return;
    const problem = this.#problem(frame);
    if (problem) return this.#stop({ reason: problem, code: 1002 });
    if (frame.opcode >= 0x8) {
      const found = this.#options.scanner?.find(frame.payload);
      if (found) return this.#stop({ found });
      this.#give(cost);
      return this.#options.pass(frame.raw);
    }
    if (frame.opcode !== 0x0) {
      this.#inMessage = true;
      this.#compressed = frame.rsv1;
    }
    this.#messageBytes += cost;
    if (this.#messageBytes > MAX_WS_MESSAGE) {
      return this.#stop({ reason: `a message of more than ${MAX_WS_MESSAGE / 1024 / 1024} MiB (each frame counted with ${WS_FRAME_COST} bytes of bookkeeping)`, code: 1009 });
    }
    this.#held.push(frame.raw);
    this.#payload.push(frame.payload);
    if (!frame.fin) return;
    const found = await this.#scanMessage();
    if (this.#stopped) return;
    if (found) return this.#stop({ found });
    const frames = Buffer.concat(this.#held);
    this.#give(this.#messageBytes);
    this.#held = [];
    this.#messageBytes = 0;
    this.#payload = [];
    this.#inMessage = false;
    this.#options.pass(frames);
  }

  /** Gives back `bytes` of what this gate holds of the task's allowance. */
  #give(bytes: number): void {
    this.#heldBytes -= bytes;
    this.#options.release(bytes);
  }

  #problem(frame: Frame): string | undefined {
    if (frame.rsv23) return 'a frame with RSV2 or RSV3 set, which no agreed extension gives a meaning';
    if (frame.opcode >= 0x8) {
      if (![0x8, 0x9, 0xa].includes(frame.opcode)) return `a frame with the reserved opcode ${frame.opcode}`;
      if (!frame.fin || frame.payload.length > 125 || frame.rsv1) return 'a control frame that is fragmented, compressed or over 125 bytes';
      return undefined;
    }
    if (frame.opcode > 0x2) return `a frame with the reserved opcode ${frame.opcode}`;
    if (frame.opcode === 0x0 ? !this.#inMessage : this.#inMessage) return 'a continuation frame out of place';
    if (frame.rsv1 && (frame.opcode === 0x0 || !this.#options.deflate)) return 'a compressed frame where compression was not agreed';
    return undefined;
  }

  /** Scans the held message's payload (inflated if it is compressed); the first value found. */
  async #scanMessage(): Promise<Found<T> | undefined> {
    const scanner = this.#options.scanner;
    const payload = Buffer.concat(this.#payload);
    if (!this.#compressed) return scanner?.find(payload);
    // Inflated even without a scanner: a message that does not inflate is refused, not passed on.
    const scan = scanner?.stream('detect');
    return this.#inflate(payload, scan);
  }

  #inflate(payload: Buffer, scan: StreamScan<T> | undefined): Promise<Found<T> | undefined> {
    if (!this.#inflater || this.#options.noContextTakeover) {
      this.#inflater?.close();
      this.#inflater = zlib.createInflateRaw({ windowBits: 15 });
    }
    const inflater = this.#inflater;
    return new Promise((resolve, reject) => {
      let inflated = 0;
      let found: Found<T> | undefined;
      const onData = (chunk: Buffer) => {
        inflated += chunk.length;
        if (inflated > MAX_WS_INFLATED) return fail(new Error(`a message inflating to more than ${MAX_WS_INFLATED / 1024 / 1024} MiB`));
        found ??= scan?.push(chunk).found[0];
      };
      const cleanup = () => {
        inflater.off('data', onData);
        inflater.off('error', fail);
      };
      function fail(error: Error): void {
        cleanup();
        reject(error);
      }
      inflater.on('data', onData);
      inflater.once('error', fail);
      inflater.write(Buffer.concat([payload, INFLATE_TAIL]));
      inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        cleanup();
        resolve(found);
      });
    });
  }
}

/** A close frame from the gateway to the sandbox (unmasked, as a server sends it). */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 120);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
