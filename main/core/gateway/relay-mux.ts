import { Duplex } from 'node:stream';
import { encodeFrame, FRAME, FrameReader, MAX_PAYLOAD, windowPayload, WINDOW_BYTES } from './relay-frames.js';

export interface RelayReady {
  port: number;
  /** Network interfaces the endpoint sees: only `lo` when the sandbox is isolated. */
  interfaces: string[];
  /** The display task's browser port, when the endpoint was asked for one. */
  browserPort?: number;
}

/** Which of the endpoint's ports a connection came in on: the proxy's, or the sandbox browser's. */
export type RelayPort = 'proxy' | 'browser';

/** One connection the agent opened to its gateway endpoint, as a stream on Airlock's side. */
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
    void this.#send(chunk).then(() => done(), done);
  }

  async #send(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; offset += MAX_PAYLOAD) {
      const piece = chunk.subarray(offset, offset + MAX_PAYLOAD);
      while (this.#credit <= 0) await new Promise<void>((resolve) => (this.#waitingForCredit = resolve));
      this.#credit -= piece.length;
      await this.#mux.write(encodeFrame(FRAME.DATA, this.id, piece));
    }
  }

  override _final(done: (error?: Error | null) => void): void {
    void this.#mux.write(encodeFrame(FRAME.END, this.id)).then(() => done(), done);
  }

  override _read(): void {
    this.#grant();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#mux.forget(this.id);
    if (!this.#closedByPeer) void this.#mux.write(encodeFrame(FRAME.CLOSE, this.id)).catch(() => undefined);
    this.#waitingForCredit?.();
    done(error);
  }

  /** Data from the agent: pushed, and credit granted back as soon as it is consumed. */
  received(payload: Buffer): void {
    this.#owed += payload.length;
    if (this.push(Buffer.from(payload))) this.#grant();
  }

  credited(bytes: number): void {
    this.#credit += bytes;
    const resume = this.#waitingForCredit;
    this.#waitingForCredit = undefined;
    resume?.();
  }

  closedByPeer(): void {
    this.#closedByPeer = true;
    this.destroy();
  }

  #grant(): void {
    if (this.#owed === 0) return;
    const bytes = this.#owed;
    this.#owed = 0;
    void this.#mux.write(encodeFrame(FRAME.WINDOW, this.id, windowPayload(bytes))).catch(() => undefined);
  }
}

/**
 * Airlock's side of a gateway endpoint: turns the endpoint's frames into one Duplex stream per
 * connection (handed to `onConnection`, i.e. the gateway) and writes their data back as frames.
 */
export class RelayMux {
  readonly ready: Promise<RelayReady>;
  readonly #output: NodeJS.WritableStream;
  readonly #connections = new Map<number, RelayedConnection>();
  readonly #reader: FrameReader;
  #drained: Promise<void> | undefined;
  #closed = false;

  constructor(output: NodeJS.WritableStream, onConnection: (stream: Duplex, port: RelayPort) => void, onLog: (text: string) => void = () => undefined) {
    this.#output = output;
    let resolveReady!: (ready: RelayReady) => void;
    this.ready = new Promise((resolve) => (resolveReady = resolve));
    this.#reader = new FrameReader((type, id, payload) => {
      if (type === FRAME.READY) resolveReady(JSON.parse(payload.toString()) as RelayReady);
      else if (type === FRAME.LOG) onLog(payload.toString());
      else if (type === FRAME.OPEN) {
        const connection = new RelayedConnection(this, id);
        this.#connections.set(id, connection);
        onConnection(connection, payload[0] === 1 ? 'browser' : 'proxy');
      } else {
        const connection = this.#connections.get(id);
        if (!connection) return;
        if (type === FRAME.DATA) connection.received(payload);
        else if (type === FRAME.END) connection.push(null);
        else if (type === FRAME.WINDOW) connection.credited(payload.readUInt32BE(0));
        else if (type === FRAME.CLOSE) connection.closedByPeer();
      }
    });
  }

  /** Bytes from the endpoint's stdout (already separated from stderr). */
  input(chunk: Buffer): void {
    this.#reader.push(chunk);
  }

  /** Writes a frame to the endpoint's stdin, waiting when the engine's stream is full. */
  async write(frame: Buffer): Promise<void> {
    if (this.#closed) throw new Error('the gateway endpoint is gone');
    while (this.#drained) await this.#drained;
    if (!this.#output.write(frame)) {
      this.#drained = new Promise<void>((resolve) => this.#output.once('drain', () => {
        this.#drained = undefined;
        resolve();
      }));
    }
  }

  forget(id: number): void {
    this.#connections.delete(id);
  }

  /** The endpoint is gone: every connection through it ends. */
  close(): void {
    this.#closed = true;
    for (const connection of this.#connections.values()) connection.closedByPeer();
    this.#connections.clear();
  }
}
