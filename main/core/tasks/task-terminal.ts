/**
 * One interactive session (`run -it`): the agent's pseudo-terminal, as Airlock holds it. The
 * sandbox is created with a TTY and an open stdin, and attached (hijacked) before it starts: with a
 * TTY the engine sends raw bytes, no stream framing. What the agent writes goes to a bounded ring
 * (the scroll-back a late watcher is shown first) and to each watcher at once; nothing waits on a
 * watcher, so a slow one never holds the task up (the server drops it instead). What a person
 * types goes in bounded: per call, per second, and by what the agent has not read yet.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';
import { AirlockError } from '../errors.js';
import type { TerminalSize } from './spec.js';

/** What a late watcher is shown first: the last bytes the agent wrote. */
export const SCROLLBACK_BYTES = 256 * 1024;
/** The most one input call may carry (the contract says the same). */
export const MAX_INPUT_BYTES = 64 * 1024;
/** Typing and pasting: far above what a person does, far below what would cost Airlock anything. */
export const INPUT_BYTES_PER_SECOND = 1024 * 1024;
/** Input the agent has not read yet, held for it; past it, more is refused until it reads. */
export const MAX_PENDING_INPUT_BYTES = 1024 * 1024;

export interface TerminalEnd {
  bytesIn: number;
  bytesOut: number;
}

/** The TTY side of a sandbox (engine/sandbox.ts). */
export interface TerminalSandbox {
  resize(size: TerminalSize): Promise<void>;
}

export class TaskTerminal {
  readonly task: string;
  #size: TerminalSize;
  readonly #clock: Clock;
  readonly #ring: Buffer[] = [];
  #ringBytes = 0;
  readonly #watchers = new Set<(data: Uint8Array) => void>();
  readonly #endListeners = new Set<() => void>();
  #stream: Duplex | undefined;
  #sandbox: TerminalSandbox | undefined;
  /** Resizes reach the engine one at a time, in order, each with the latest size (two in flight could land swapped). */
  #resizing: Promise<void> = Promise.resolve();
  #ended = false;
  #bytesIn = 0;
  #bytesOut = 0;
  #windowStart = 0;
  #windowBytes = 0;

  constructor(task: string, size: TerminalSize, clock: Clock) {
    this.task = task;
    this.#size = { ...size };
    this.#clock = clock;
  }

  get size(): TerminalSize {
    return { ...this.#size };
  }

  get ended(): boolean {
    return this.#ended;
  }

  get totals(): TerminalEnd {
    return { bytesIn: this.#bytesIn, bytesOut: this.#bytesOut };
  }

  /** Bytes held for late watchers now (never more than SCROLLBACK_BYTES). */
  get scrollbackBytes(): number {
    return this.#ringBytes;
  }

  /**
   * Binds the sandbox's attached TTY stream. Resolves when the stream ends (the agent's program
   * exited, or the sandbox was torn down); never rejects.
   */
  bind(stream: Duplex, sandbox: TerminalSandbox): Promise<void> {
    this.#stream = stream;
    this.#sandbox = sandbox;
    return new Promise<void>((resolve) => {
      const finish = () => {
        this.end();
        resolve();
      };
      stream.on('data', (chunk: Buffer) => this.#output(chunk));
      stream.on('end', finish);
      stream.on('close', finish);
      stream.on('error', finish);
      // A write to a container that is gone fails the stream: the agent is over, nothing to report.
    });
  }

  /** Scroll-back first, then every byte from now on; returns the undo. */
  watch(listener: (data: Uint8Array) => void, onEnd: () => void): () => void {
    if (this.#ended) {
      onEnd();
      return () => undefined;
    }
    if (this.#ringBytes > 0) listener(Buffer.concat(this.#ring));
    this.#watchers.add(listener);
    this.#endListeners.add(onEnd);
    return () => {
      this.#watchers.delete(listener);
      this.#endListeners.delete(onEnd);
    };
  }

  /** A person's keys, to the agent's terminal. Refused past the bounds (see above), or before the agent is there. */
  input(data: Uint8Array): void {
    if (data.byteLength > MAX_INPUT_BYTES) throw new AirlockError('bad_argument', `terminal input of ${data.byteLength} bytes: at most ${MAX_INPUT_BYTES} a call`, 'send it in pieces');
    const stream = this.#stream;
    if (this.#ended) throw new AirlockError('not_found', `the terminal of ${this.task} has ended`);
    if (!stream) throw new AirlockError('not_found', `the terminal of ${this.task} is not up yet`, 'wait until the task has started');
    const now = this.#clock.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowBytes = 0;
    }
    if (this.#windowBytes + data.byteLength > INPUT_BYTES_PER_SECOND) {
      throw new AirlockError('policy_refused', `more than ${INPUT_BYTES_PER_SECOND} bytes of terminal input in a second`, 'type or paste more slowly');
    }
    if (stream.writableLength >= MAX_PENDING_INPUT_BYTES) {
      throw new AirlockError('policy_refused', `the agent has not read ${stream.writableLength} bytes of input yet`, 'wait until it reads what it was sent');
    }
    this.#windowBytes += data.byteLength;
    this.#bytesIn += data.byteLength;
    stream.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  /** A new size for the agent's terminal (the program gets SIGWINCH). False when it is the size already. */
  async resize(size: TerminalSize): Promise<boolean> {
    if (this.#ended) throw new AirlockError('not_found', `the terminal of ${this.task} has ended`);
    if (size.cols === this.#size.cols && size.rows === this.#size.rows) return false;
    this.#size = { cols: size.cols, rows: size.rows };
    await this.applySize();
    return true;
  }

  /** Gives the sandbox the session's size, after any resize still under way (the last size wins). */
  applySize(): Promise<void> {
    const applied = this.#resizing.then(() => this.#sandbox?.resize({ ...this.#size }));
    this.#resizing = applied.catch(() => undefined);
    return applied;
  }

  /** Ends the session: its watchers are told, its stream let go. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#watchers.clear();
    const listeners = [...this.#endListeners];
    this.#endListeners.clear();
    for (const listener of listeners) listener();
    this.#ring.length = 0;
    this.#ringBytes = 0;
    this.#stream?.destroy();
  }

  #output(chunk: Buffer): void {
    this.#bytesOut += chunk.length;
    this.#remember(chunk);
    for (const watcher of [...this.#watchers]) watcher(chunk);
  }

  #remember(chunk: Buffer): void {
    const kept = chunk.length > SCROLLBACK_BYTES ? chunk.subarray(chunk.length - SCROLLBACK_BYTES) : chunk;
    this.#ring.push(Buffer.from(kept));
    this.#ringBytes += kept.length;
    // Many small writes would make many small buffers: fold them into one now and then.
    if (this.#ring.length > 256) this.#ring.splice(0, this.#ring.length, Buffer.concat(this.#ring));
    while (this.#ringBytes > SCROLLBACK_BYTES) {
      const first = this.#ring[0]!;
      const over = this.#ringBytes - SCROLLBACK_BYTES;
      if (first.length <= over) {
        this.#ring.shift();
        this.#ringBytes -= first.length;
      } else {
        this.#ring[0] = first.subarray(over);
        this.#ringBytes -= over;
      }
    }
  }
}

type TerminalEmit = (kind: 'terminal.started' | 'terminal.ended', data: Record<string, unknown>) => void;

/**
 * Binds a started sandbox's TTY stream to its session: its size set (`terminal.started`), then,
 * once the stream ends, `terminal.ended` with the byte counts (never the bytes). Never rejects.
 */
export function pumpTerminal(terminal: TaskTerminal, stream: Duplex, sandbox: TerminalSandbox, emit: TerminalEmit): Promise<void> {
  const ended = terminal.bind(stream, sandbox);
  // The engine could not take the size at creation (older API): the program gets it now, with a SIGWINCH.
  void terminal.applySize().catch(() => undefined);
  emit('terminal.started', { ...terminal.size });
  return ended.then(() => emit('terminal.ended', { ...terminal.totals }));
}
