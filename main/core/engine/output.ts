import { Writable } from 'node:stream';
import { DockerFrameParser, type StreamName } from './docker-frames.js';

export type { StreamName } from './docker-frames.js';

export interface OutputLimits {
  /** A longer line is cut to this many bytes; the rest of it is counted, not kept. */
  maxLineBytes: number;
  /** Lines per task recorded as events; past this, output is drained and only counted. */
  maxLines: number;
  /** Bytes per task recorded as events; past this, output is drained and only counted. */
  maxBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxLineBytes: 16 * 1024, maxLines: 100_000, maxBytes: 32 * 1024 * 1024 };

export interface OutputSink {
  line(stream: StreamName, text: string, cutBytes: number): void;
  /** Called once, when the budget is first exceeded: from here on output is only counted. */
  budgetExceeded(): void;
}

export interface OutputTotals {
  lines: number;
  bytes: number;
  droppedBytes: number;
  cutLines: number;
}

/** Splits one stream into bounded lines. Holds at most maxLineBytes of a pending line. */
class LineSplitter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #cutBytes = 0; // bytes discarded from the current over-long line

  private readonly _stream: StreamName;
  private readonly _owner: BoundedOutput;

  constructor(stream: StreamName, owner: BoundedOutput) {
    this._stream = stream;
    this._owner = owner;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      if (this._owner.draining) {
        this._owner.countDropped(chunk.length - start);
        this.#reset();
        return;
      }
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#append(chunk.subarray(start, end));
      if (newline === -1) return;
      this.flush();
      start = newline + 1;
    }
  }

  /** Emit what is pending as a line (at a newline, or at the end of the stream). */
  flush(): void {
    if (this.#pendingBytes === 0 && this.#cutBytes === 0) return;
    let kept = Buffer.concat(this.#pending, this.#pendingBytes);
    let cut = this.#cutBytes;
    if (cut > 0) {
      // Cut at a character, never inside one: what is kept is exactly the start of what was
      // printed, so a secret begun before the cut is still recognised (and redacted) there.
      const partial = incompleteCharacterBytes(kept);
      kept = kept.subarray(0, kept.length - partial);
      cut += partial;
    }
    const text = kept.toString('utf8').replace(/\r$/, '');
    this.#reset();
    this._owner.emitLine(this._stream, text, cut);
  }

  #append(part: Buffer): void {
    const room = this._owner.limits.maxLineBytes - this.#pendingBytes;
    if (part.length <= room) {
      if (part.length > 0) {
        this.#pending.push(Buffer.from(part)); // copy: the engine reuses its chunk buffers
        this.#pendingBytes += part.length;
      }
      return;
    }
    if (room > 0) {
      this.#pending.push(Buffer.from(part.subarray(0, room)));
      this.#pendingBytes += room;
    }
    this.#cutBytes += part.length - Math.max(room, 0);
  }

  #reset(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#cutBytes = 0;
  }
}

/** How many bytes at the end of `bytes` are the start of a UTF-8 character cut off before its end. */
function incompleteCharacterBytes(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: the character began further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/**
 * Consumes the engine's multiplexed attach stream and turns it into bounded line events. It is a Writable, so a slow consumer
 * applies backpressure to the engine — and through it to the agent — instead of buffering.
 */
export class BoundedOutput extends Writable {
  readonly limits: OutputLimits;
  readonly totals: OutputTotals = { lines: 0, bytes: 0, droppedBytes: 0, cutLines: 0 };
  draining = false;
  readonly #sink: OutputSink;
  readonly #splitters: Record<StreamName, LineSplitter>;
  readonly #frames = new DockerFrameParser((stream, piece) => this.#splitters[stream].push(piece));

  constructor(sink: OutputSink, limits: OutputLimits = DEFAULT_OUTPUT_LIMITS) {
    super({ highWaterMark: 64 * 1024 });
    this.limits = limits;
    this.#sink = sink;
    this.#splitters = { stdout: new LineSplitter('stdout', this), stderr: new LineSplitter('stderr', this) };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    try {
      this.#frames.push(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#splitters.stdout.flush();
    this.#splitters.stderr.flush();
    done();
  }

  emitLine(stream: StreamName, text: string, cutBytes: number): void {
    const size = Buffer.byteLength(text); // what is recorded; bytes cut from a long line are not
    if (this.totals.lines + 1 > this.limits.maxLines || this.totals.bytes + size > this.limits.maxBytes) {
      this.countDropped(size + cutBytes);
      this.#startDraining();
      return;
    }
    this.totals.lines += 1;
    this.totals.bytes += size;
    if (cutBytes > 0) this.totals.cutLines += 1;
    this.#sink.line(stream, text, cutBytes);
  }

  countDropped(bytes: number): void {
    this.totals.droppedBytes += bytes;
  }

  #startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    this.#sink.budgetExceeded();
  }
}
