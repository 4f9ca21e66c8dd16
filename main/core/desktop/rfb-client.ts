// A small RFB 3.8 (VNC) client: just what the live view of a task's screen needs. The server is
// x11vnc inside the task's container, reached through the engine's exec stream (no port), so the
// client takes its bytes as they are pushed in (any chunking) and writes to whatever carries them.
// The stream is treated as hostile (what it shows comes from the agent's X server): every update's
// work is bounded before it is done, parsing runs in short slices that yield to the event loop,
// and a session that costs more CPU or buffered memory than its budget is ended.
// Here: the driver (slices, backpressure, update requests) and the parsing of server messages and
// updates; the handshake is rfb-handshake.ts, the wire format rfb-messages.ts, the limits rfb-budget.ts.
import { ByteQueue } from './byte-queue.js';
import { blankScreen, copyRow, writeRow } from './framebuffer.js';
import type { RfbHandlers, RfbRect, RfbSink } from './rfb-types.js';
import { AirlockError } from '../errors.js';
import { RfbBudgetMeter, UpdateWork, type RfbBudget } from './rfb-budget.js';
import { budgetError, clientSetup, ENCODING_COPYRECT, ENCODING_DESKTOP_SIZE, ENCODING_RAW, keyEvent, pointerEvent, protocol, updateRequest } from './rfb-messages.js';
import { handshakeStep, type HandshakeState, type ServerInit } from './rfb-handshake.js';

export type { RfbHandlers, RfbRect, RfbSink } from './rfb-types.js';

/** Larger sides are refused: a real screen is never this big, and 8192² RGBA is already 256 MB. */
export const MAX_SIDE = 8192;
/** Clipboard text is not asked for (-noclipboard): more than this of it is a broken stream. */
const MAX_CUT_TEXT = 1024 * 1024;

type State =
  | HandshakeState
  | { kind: 'message' }
  | { kind: 'rect-header'; left: number }
  // A rectangle's rows still to apply: Raw takes them from the stream, CopyRect from `copyFrom`.
  | { kind: 'rows'; rect: RfbRect; row: number; left: number; copyFrom?: { x: number; y: number } }
  | { kind: 'skip'; bytes: number }
  | { kind: 'failed' };

/**
 * The client side of one RFB connection. Pixels are asked for as 32-bit little-endian true colour
 * with red at bit 0, green at 8 and blue at 16, so in memory each pixel is R,G,B,x: setting x to
 * 255 makes `framebuffer` plain RGBA, ready for PNG without a conversion pass.
 */
export class RfbClient {
  width = 0;
  height = 0;
  name = '';
  /** The screen as RGBA, width × height × 4 bytes; replaced on DesktopSize. */
  framebuffer: Buffer = Buffer.alloc(0);
  readonly stats = { bytesReceived: 0, updates: 0, rects: 0 };

  readonly #sink: RfbSink;
  readonly #handlers: RfbHandlers;
  readonly #maxSize: { width: number; height: number };
  // Input not yet consumed: whole chunks as they came, so nothing is copied until a field needs it.
  readonly #bytes = new ByteQueue();
  #state: State = { kind: 'version' };
  #changed: RfbRect[] = [];
  #requestIntervalMs = 0;
  #lastRequestAt = 0;
  #deferred: NodeJS.Timeout | undefined;
  readonly #meter: RfbBudgetMeter;
  /** What the update being parsed has cost so far, against its limits. */
  #work = new UpdateWork(0, 0, 0);
  /** A slice is scheduled: bytes pushed meanwhile only queue up behind it. */
  #slice: NodeJS.Immediate | undefined;
  /** push() asked the source to wait: onDrain() is owed once the backlog is low again. */
  #throttled = false;

  /**
   * `maxSize`: the largest screen accepted (a display task's own size: the server is the agent's).
   * `budget`: the session's CPU, memory and slice budget (RfbBudget; defaults for a live view).
   */
  constructor(sink: RfbSink, handlers: RfbHandlers = {}, maxSize = { width: MAX_SIDE, height: MAX_SIDE }, budget: Partial<RfbBudget> = {}) {
    this.#sink = sink;
    this.#handlers = handlers;
    this.#maxSize = { width: Math.min(maxSize.width, MAX_SIDE), height: Math.min(maxSize.height, MAX_SIDE) };
    this.#meter = new RfbBudgetMeter(budget);
  }

  /** Milliseconds this session's parsing has taken (its CPU on Airlock's event loop). */
  get cpuMs(): number {
    return this.#meter.totalMs;
  }

  /** Bytes received and not yet parsed. */
  get backlog(): number {
    return this.#bytes.length;
  }

  get ready(): boolean {
    return this.width > 0 && this.#state.kind !== 'failed';
  }

  /**
   * The least time between update requests. 0: the next request goes out as soon as an update is
   * complete (the screen streams at the server's pace). More: the server merges what changed in
   * between into one update, which bounds the bytes received while nobody looks at the screen.
   */
  set requestIntervalMs(ms: number) {
    this.#requestIntervalMs = ms;
    if (ms === 0) this.flushRequest();
  }

  /** Sends a request held back by requestIntervalMs now; false when none was waiting. */
  flushRequest(): boolean {
    if (!this.#deferred) return false;
    clearTimeout(this.#deferred);
    this.#deferred = undefined;
    this.#request(true);
    return true;
  }

  /** Asks for the top-left pixel, which the server must send even when nothing changed: a sign of life. */
  ping(): void {
    if (this.ready) this.#sink.write(updateRequest(false, 1, 1));
  }

  /** Stops the request timer and the parsing (the stream is gone). */
  stop(): void {
    clearTimeout(this.#deferred);
    this.#deferred = undefined;
    if (this.#slice) clearImmediate(this.#slice);
    this.#slice = undefined;
    this.#state = { kind: 'failed' };
  }

  /**
   * Feeds bytes from the server, in whatever pieces they arrive. They are parsed in slices of at
   * most budget.sliceMs, the first one at once and the rest after the event loop has had its turn.
   * False: the backlog is past budget.backlogHighBytes and the source should pause until onDrain.
   */
  push(chunk: Buffer): boolean {
    if (this.#state.kind === 'failed') return false;
    if (chunk.length === 0) return true;
    this.stats.bytesReceived += chunk.length;
    this.#bytes.push(chunk);
    if (this.#bytes.length > this.#meter.budget.backlogMaxBytes) {
      this.#fail(budgetError(`${this.#bytes.length} bytes arrived faster than they could be read (at most ${this.#meter.budget.backlogMaxBytes} may wait)`));
      return false;
    }
    if (!this.#slice) this.#parseSlice();
    if (this.#bytes.length >= this.#meter.budget.backlogHighBytes) this.#throttled = true;
    return !this.#failed() && !this.#throttled;
  }

  /** Whether parsing has stopped for good (a method: a handler may fail the client mid-step). */
  #failed(): boolean {
    return this.#state.kind === 'failed';
  }

  /** Resolves once every byte pushed so far has been parsed (or the client failed). */
  async idle(): Promise<void> {
    while (this.#slice) await new Promise((resolve) => setImmediate(resolve));
  }

  /** One time-boxed slice of parsing; schedules the next if time, not bytes, ran out. */
  #parseSlice(): void {
    this.#slice = undefined;
    if (this.#state.kind === 'failed') return;
    const slice = this.#meter.startSlice();
    let yielded = false;
    try {
      while (this.#step()) {
        if (slice.late()) {
          yielded = true;
          break;
        }
      }
      const over = this.#meter.endSlice(slice);
      if (over) throw budgetError(over);
    } catch (error) {
      this.#fail(error instanceof AirlockError ? error : new AirlockError('internal', `screen stream: ${(error as Error).message}`, undefined, { cause: error }));
      return;
    }
    if (this.#failed()) return;
    if (yielded) this.#slice = setImmediate(() => this.#parseSlice());
    if (this.#throttled && this.#bytes.length < this.#meter.budget.backlogHighBytes / 2) {
      this.#throttled = false;
      this.#handlers.onDrain?.();
    }
  }

  /** Pointer position in screen pixels and the buttons held (bit 0 left, 1 middle, 2 right, 3/4 wheel). */
  pointer(x: number, y: number, buttons: number): void {
    if (!this.ready) return;
    this.#sink.write(pointerEvent(x, y, buttons, this.width, this.height));
  }

  /** A key press or release, as an X11 keysym. */
  key(keysym: number, down: boolean): void {
    if (!this.ready) return;
    this.#sink.write(keyEvent(keysym, down));
  }

  /** One step of the state machine; false when it needs more bytes (or has failed). */
  #step(): boolean {
    const state = this.#state;
    switch (state.kind) {
      case 'version':
      case 'security-types':
      case 'security-result':
      case 'server-init':
      case 'reason': {
        const next = handshakeStep(state, this.#bytes, this.#sink);
        if (!next) return false;
        if (next.kind === 'init') this.#serverInit(next);
        else this.#state = next;
        return true;
      }
      case 'message':
        return this.#message();
      case 'rect-header':
        return this.#rectHeader(state.left);
      case 'rows':
        return this.#rows(state);
      case 'skip': {
        // Streamed away: a large clipboard text never sits in memory.
        const drop = Math.min(state.bytes, this.#bytes.length);
        this.#bytes.discard(drop);
        if (drop < state.bytes) {
          this.#state = { ...state, bytes: state.bytes - drop };
          return false;
        }
        this.#state = { kind: 'message' };
        return true;
      }
      case 'failed':
        return false;
    }
  }

  /** The handshake is done: the screen is checked and set up, and the first update asked for. */
  #serverInit(init: ServerInit): void {
    this.#resize(init.width, init.height);
    this.name = init.name;
    this.#sink.write(clientSetup());
    this.#request(false);
    this.#state = { kind: 'message' };
    this.#handlers.onReady?.({ width: this.width, height: this.height, name: this.name });
  }

  /** A server-to-client message: its type byte and fixed header. */
  #message(): boolean {
    const type = this.#bytes.peek(1)?.[0];
    if (type === undefined) return false;
    const header = [4, 6, 1, 8][type];
    if (header === undefined) throw protocol(`unknown server message type ${type}`);
    const bytes = this.#bytes.take(header);
    if (!bytes) return false;
    // FramebufferUpdate: type, padding, number of rectangles — bounded before any is read.
    if (type === 0) this.#startUpdate(bytes.readUInt16BE(2));
    // SetColourMapEntries: we asked for true colour, so the map means nothing to us.
    if (type === 1) this.#state = { kind: 'skip', bytes: bytes.readUInt16BE(4) * 6 };
    // ServerCutText: the clipboard is not shared with the view. (Type 2, Bell, has no body.)
    if (type === 3) {
      const length = bytes.readUInt32BE(4);
      if (length > MAX_CUT_TEXT) throw protocol(`clipboard text of ${length} bytes, which was not asked for`);
      this.#state = { kind: 'skip', bytes: length };
    }
    return true;
  }

  /** An update's cost is checked as its parts are announced, before their work is done. */
  #startUpdate(rects: number): void {
    this.#work = new UpdateWork(this.width, this.height, rects);
    this.#state = { kind: 'rect-header', left: rects };
  }

  #rectHeader(left: number): boolean {
    if (left === 0) {
      this.#updateDone();
      return true;
    }
    const head = this.#bytes.peek(12);
    if (!head) return false;
    const encoding = head.readInt32BE(8);
    // CopyRect's source position follows the header: both are taken together.
    const bytes = this.#bytes.take(encoding === ENCODING_COPYRECT ? 16 : 12);
    if (!bytes) return false;
    const rect = { x: bytes.readUInt16BE(0), y: bytes.readUInt16BE(2), w: bytes.readUInt16BE(4), h: bytes.readUInt16BE(6) };
    switch (encoding) {
      case ENCODING_RAW:
        this.#checkInside(rect, 'raw rectangle');
        this.#work.charge('rawBytes', rect.w * rect.h * 4);
        if (rect.w === 0 || rect.h === 0) this.#rectDone(rect, left);
        else this.#state = { kind: 'rows', rect, row: 0, left };
        return true;
      case ENCODING_COPYRECT: {
        const [sx, sy] = [bytes.readUInt16BE(12), bytes.readUInt16BE(14)];
        this.#checkInside(rect, 'copied rectangle');
        this.#checkInside({ x: sx, y: sy, w: rect.w, h: rect.h }, 'copy source');
        this.#work.charge('copied', rect.w * rect.h);
        this.#state = { kind: 'rows', rect, row: 0, left, copyFrom: { x: sx, y: sy } };
        return true;
      }
      case ENCODING_DESKTOP_SIZE:
        this.#resize(rect.w, rect.h);
        // A new screen: the rest of the update is bounded by its size (and pays for its clearing).
        this.#work = this.#work.resized(this.width, this.height);
        this.#work.charge('rawBytes', this.width * this.height * 4);
        this.#changed = [];
        this.#handlers.onResize?.(this.width, this.height);
        this.#rectDone({ x: 0, y: 0, w: this.width, h: this.height }, left);
        return true;
      default:
        throw protocol(`the server sent encoding ${encoding}, which was not asked for`);
    }
  }

  /**
   * A rectangle's rows, applied one at a time: Raw as its pixels arrive (at most one row is ever
   * buffered), CopyRect from elsewhere on the screen. Returns true with the rectangle unfinished
   * when the slice's time is up (the row is saved in the state).
   */
  #rows(state: Extract<State, { kind: 'rows' }>): boolean {
    const { rect, copyFrom } = state;
    let row = state.row;
    while (row < rect.h) {
      if (copyFrom) {
        copyRow(this.framebuffer, this.width, rect, copyFrom.x, copyFrom.y, row);
      } else {
        const bytes = this.#bytes.take(rect.w * 4);
        if (!bytes) {
          this.#state = { ...state, row };
          return false;
        }
        writeRow(this.framebuffer, this.width, rect, row, bytes);
      }
      row += 1;
      if (row < rect.h && this.#meter.late()) {
        this.#state = { ...state, row };
        return true;
      }
    }
    this.#rectDone(rect, state.left);
    return true;
  }

  #rectDone(rect: RfbRect, left: number): void {
    this.stats.rects += 1;
    if (rect.w > 0 && rect.h > 0) this.#changed.push(rect);
    this.#state = { kind: 'rect-header', left: left - 1 };
  }

  #updateDone(): void {
    this.stats.updates += 1;
    const rects = this.#changed;
    this.#changed = [];
    this.#state = { kind: 'message' };
    // The next request is incremental: the server answers it when something has changed.
    const wait = this.#lastRequestAt + this.#requestIntervalMs - Date.now();
    if (wait <= 0) this.#request(true);
    else this.#deferred = setTimeout(() => this.flushRequest(), wait).unref();
    if (rects.length > 0) this.#handlers.onUpdate?.(rects);
  }

  #request(incremental: boolean): void {
    if (this.#state.kind === 'failed') return;
    this.#lastRequestAt = Date.now();
    this.#sink.write(updateRequest(incremental, this.width, this.height));
  }

  #resize(width: number, height: number): void {
    if (width === 0 || height === 0 || width > this.#maxSize.width || height > this.#maxSize.height) {
      throw protocol(`the server announced a ${width}x${height} screen (at most ${this.#maxSize.width}x${this.#maxSize.height} is accepted)`);
    }
    this.width = width;
    this.height = height;
    this.framebuffer = blankScreen(width, height);
  }

  #checkInside(rect: RfbRect, what: string): void {
    if (rect.x + rect.w > this.width || rect.y + rect.h > this.height) {
      throw protocol(`a ${what} ${rect.w}x${rect.h} at ${rect.x},${rect.y} lies outside the ${this.width}x${this.height} screen`);
    }
  }

  #fail(error: AirlockError): void {
    this.stop();
    this.#bytes.clear();
    this.#handlers.onError?.(error);
  }
}
