import { Duplex } from 'node:stream';
import { encodeFrame, FRAME, FrameError, FrameReader, MAX_PAYLOAD, windowPayload, WINDOW_BYTES } from './relay-frames.js';

export interface RelayReady {
  /** The proxy port, when the sidecar relays connections (allowlist and open networks). */
  port?: number;
  /** Network interfaces the sidecar sees: only `lo` when the sandbox is isolated. */
  interfaces: string[];
  /** The display task's browser port, when the sidecar was asked for one. */
  browserPort?: number;
}

/** Which of the sidecar's ports a connection came in on: the proxy's, or the sandbox browser's. */
export type RelayPort = 'proxy' | 'browser';

/** Relayed connections one task may hold at once: each may have WINDOW_BYTES in flight. */
export const MAX_RELAYED_CONNECTIONS = 128;

export interface RelayMuxEvents {
  /** A new connection from the agent, for the gateway. */
  onConnection(stream: Duplex, port: RelayPort): void;
  /** Free text the sidecar logged (why it stopped, say). */
  onLog?(text: string): void;
  /** A report from the sidecar (workspace full, connections refused over the limit). */
  onStatus?(status: Record<string, unknown>): void;
  /** The sidecar broke the protocol: it can no longer be trusted to carry the task's traffic. */
  onProtocolError?(reason: string): void;
  /** A connection over MAX_RELAYED_CONNECTIONS was refused (reported once per burst). */
  onConnectionRefused?(open: number): void;
}

/** One connection the agent opened to its sidecar, as a stream on Airlock's side. */
class RelayedConnection extends Duplex {
  readonly id: number;
  readonly #mux: RelayMux;
  #credit = WINDOW_BYTES;
  #waitingForCredit: (() => void) | undefined;
  #owed = 0;
  #closedByPeer = false;

  constructor(mux: RelayMux, id: number) {
    super({ allowHalfOpen: true });
    this.#mux = mux;
    this.id = id;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#send(chunk).then(() => done(), done);
  }

  async #send(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; offset += MAX_PAYLOAD) {
      const piece = chunk.subarray(offset, offset + MAX_PAYLOAD);
      while (this.#credit <= 0) {
        if (this.destroyed) throw new Error('the connection is closed');
        await new Promise<void>((resolve) => (this.#waitingForCredit = resolve));
      }
      this.#credit -= piece.length;
      await this.#mux.write(encodeFrame(FRAME.DATA, this.id, piece));
    }
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#mux.write(encodeFrame(FRAME.END, this.id)).then(() => done(), done);
  }

  override _read(): void {
    this.#grant();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#mux.forget(this.id);
    if (!this.#closedByPeer) this.#mux.write(encodeFrame(FRAME.CLOSE, this.id)).catch(() => undefined);
    this.#waitingForCredit?.();
    done(error);
  }

  /** Data from the agent: pushed, and credit granted back as soon as it is consumed. */
  received(payload: Buffer): void {
    this.#owed += payload.length;
    // The sidecar may only send what it was granted (plus the socket read that crossed the window):
    // more means it ignores flow control.
    if (this.#owed > WINDOW_BYTES + 2 * MAX_PAYLOAD) {
      this.destroy();
      return;
    }
    if (this.push(Buffer.from(payload))) this.#grant();
  }

  credited(bytes: number): void {
    // Never more than a window outstanding, whatever a peer claims it consumed.
    this.#credit = Math.min(WINDOW_BYTES, this.#credit + bytes);
    const resume = this.#waitingForCredit;
    this.#waitingForCredit = undefined;
    resume?.();
  }

  closedByPeer(): void {
    this.#closedByPeer = true;
    this.destroy();
  }

  #grant(): void {
    if (this.#owed === 0 || this.destroyed) return;
    const bytes = this.#owed;
    this.#owed = 0;
    this.#mux.write(encodeFrame(FRAME.WINDOW, this.id, windowPayload(bytes))).catch(() => undefined);
  }
}

/**
 * Airlock's side of a task's sidecar: turns its frames into one Duplex stream per connection
 * (handed to the gateway) and writes their data back as frames. Everything the sidecar sends is
 * checked: frame sizes, known types, one OPEN per id, flow control, at most
 * MAX_RELAYED_CONNECTIONS at once — so at most that many windows of bytes are ever buffered here.
 */
export class RelayMux {
  readonly ready: Promise<RelayReady>;
  readonly #output: NodeJS.WritableStream;
  readonly #events: RelayMuxEvents;
  readonly #connections = new Map<number, RelayedConnection>();
  readonly #reader: FrameReader;
  readonly #maxConnections: number;
  #drained: Promise<void> | undefined;
  #closed = false;
  #broken = false;
  #refusedInBurst = false;

  constructor(output: NodeJS.WritableStream, events: RelayMuxEvents, maxConnections = MAX_RELAYED_CONNECTIONS) {
    this.#output = output;
    this.#events = events;
    this.#maxConnections = maxConnections;
    let resolveReady!: (ready: RelayReady) => void;
    this.ready = new Promise((resolve) => (resolveReady = resolve));
    this.#reader = new FrameReader((type, id, payload) => {
      if (type === FRAME.READY) resolveReady(parseReady(payload));
      else if (type === FRAME.LOG) events.onLog?.(payload.toString('utf8'));
      else if (type === FRAME.STATUS) events.onStatus?.(parseObject(payload, 'STATUS'));
      else if (type === FRAME.OPEN) this.#open(id, payload);
      else if (type === FRAME.DATA || type === FRAME.END || type === FRAME.WINDOW || type === FRAME.CLOSE) {
        const connection = this.#connections.get(id);
        if (!connection) return; // already closed on this side: late frames are expected
        if (type === FRAME.DATA) connection.received(payload);
        else if (type === FRAME.END) connection.push(null);
        else if (type === FRAME.WINDOW) {
          if (payload.length !== 4) throw new FrameError('a WINDOW frame without its 4-byte count');
          connection.credited(payload.readUInt32BE(0));
        } else connection.closedByPeer();
      } else throw new FrameError(`an unknown frame type ${type}`);
    });
  }

  /** Bytes from the sidecar's stdout (already separated from stderr). */
  input(chunk: Buffer): void {
    if (this.#broken) return;
    try {
      this.#reader.push(chunk);
    } catch (error) {
      this.#broken = true;
      this.close();
      this.#events.onProtocolError?.(error instanceof FrameError ? error.message : `a malformed frame (${(error as Error).message})`);
    }
  }

  /** Writes a frame to the sidecar's stdin, waiting when the engine's stream is full. */
  async write(frame: Buffer): Promise<void> {
    if (this.#closed) throw new Error('the task\'s sidecar is gone');
    while (this.#drained) await this.#drained;
    if (!this.#output.write(frame)) {
      this.#drained = new Promise<void>((resolve) => this.#output.once('drain', () => {
        this.#drained = undefined;
        resolve();
      }));
    }
  }

  /** The task's deadline, as the sidecar enforces it on its own: this many seconds from now. */
  arm(seconds: number): Promise<void> {
    return this.write(encodeFrame(FRAME.ARM, 0, windowPayload(Math.max(1, Math.min(0xffffffff, Math.ceil(seconds))))));
  }

  /** Asks the sidecar for its reports now (the workspace's state); it answers with STATUS `reported`. */
  requestReport(): Promise<void> {
    return this.write(encodeFrame(FRAME.REPORT, 0));
  }

  forget(id: number): void {
    this.#connections.delete(id);
    if (this.#connections.size < this.#maxConnections / 2) this.#refusedInBurst = false;
  }

  /** The sidecar is gone: every connection through it ends. */
  close(): void {
    this.#closed = true;
    for (const connection of this.#connections.values()) connection.closedByPeer();
    this.#connections.clear();
  }

  #open(id: number, payload: Buffer): void {
    if (this.#connections.has(id)) throw new FrameError(`a second OPEN for connection ${id}`);
    if (this.#connections.size >= this.#maxConnections) {
      this.write(encodeFrame(FRAME.CLOSE, id)).catch(() => undefined);
      if (!this.#refusedInBurst) {
        this.#refusedInBurst = true;
        this.#events.onConnectionRefused?.(this.#connections.size);
      }
      return;
    }
    const connection = new RelayedConnection(this, id);
    this.#connections.set(id, connection);
    this.#events.onConnection(connection, payload[0] === 1 ? 'browser' : 'proxy');
  }
}

function parseObject(payload: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new FrameError(`a ${what} frame that is not JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new FrameError(`a ${what} frame that is not a JSON object`);
  return value as Record<string, unknown>;
}

function parseReady(payload: Buffer): RelayReady {
  const ready = parseObject(payload, 'READY');
  const port = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536 ? value : undefined);
  if (!Array.isArray(ready.interfaces) || !ready.interfaces.every((name) => typeof name === 'string')) throw new FrameError('a READY frame without its interfaces');
  const proxy = port(ready.port);
  const browser = port(ready.browserPort);
  return { interfaces: ready.interfaces as string[], ...(proxy ? { port: proxy } : {}), ...(browser ? { browserPort: browser } : {}) };
}
