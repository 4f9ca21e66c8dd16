import type { Clock } from '../clock.js';
import { readResponse, type JsonRpcResponse } from './jsonrpc.js';

/** What a stdio server may send, and how long it may take: past any of them it is ended. */
export interface StdioBounds {
  /** A line longer than this ends the server (no line is buffered beyond it). */
  maxLineBytes: number;
  /** Lines within one second: more is a flood. */
  maxLinesPerSecond: number;
  /** An answer later than this ends the server (it hangs). */
  replyTimeoutMs: number;
  /** Requests waiting for an answer at once. */
  maxPending: number;
}

export const DEFAULT_STDIO_BOUNDS: StdioBounds = { maxLineBytes: 1024 * 1024, maxLinesPerSecond: 200, replyTimeoutMs: 30_000, maxPending: 16 };

/** Why an upstream request failed: the server broke a bound or ended (the broker answers the agent with it). */
export class UpstreamEnded extends Error {}

interface Waiting {
  resolve(response: JsonRpcResponse): void;
  reject(error: Error): void;
  timer: { cancel(): void };
}

/**
 * Newline-delimited JSON-RPC with one stdio server (MCP's stdio transport), every line bounded:
 * its length, how many come per second, how long an answer takes. A server that breaks a bound
 * is ended (`end(reason)`: the caller kills its container) and every waiting request fails.
 * Lines that are not answers to the broker's requests (its own requests, notifications, logs) are
 * dropped: a server asks the agent nothing.
 */
export class StdioChannel {
  readonly #write: (line: string) => void;
  readonly #clock: Clock;
  readonly #bounds: StdioBounds;
  readonly #onEnd: (reason: string) => void;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #windowStart = 0;
  #linesInWindow = 0;
  #ended: string | undefined;

  constructor(options: { write: (line: string) => void; clock: Clock; bounds?: Partial<StdioBounds>; onEnd: (reason: string) => void }) {
    this.#write = options.write;
    this.#clock = options.clock;
    this.#bounds = { ...DEFAULT_STDIO_BOUNDS, ...options.bounds };
    this.#onEnd = options.onEnd;
  }

  get ended(): string | undefined {
    return this.#ended;
  }

  /** Bytes of the server's stdout, as they come. */
  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length && this.#ended === undefined) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#pendingBytes += end - start;
      if (this.#pendingBytes > this.#bounds.maxLineBytes) {
        this.end(`it wrote a line longer than ${this.#bounds.maxLineBytes} bytes`);
        return;
      }
      this.#pending.push(chunk.subarray(start, end));
      if (newline === -1) return;
      const line = Buffer.concat(this.#pending).toString('utf8');
      this.#pending = [];
      this.#pendingBytes = 0;
      start = newline + 1;
      this.#line(line);
    }
  }

  /** Sends a request; its answer, or UpstreamEnded. */
  request(method: string, params: Record<string, unknown> | undefined): Promise<JsonRpcResponse> {
    if (this.#ended !== undefined) return Promise.reject(new UpstreamEnded(this.#ended));
    if (this.#waiting.size >= this.#bounds.maxPending) return Promise.reject(new UpstreamEnded(`${this.#waiting.size} calls already wait for this server`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => this.end(`it did not answer ${method} within ${this.#bounds.replyTimeoutMs / 1000} s`), this.#bounds.replyTimeoutMs);
      this.#waiting.set(id, { resolve, reject, timer });
      this.#send({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
    });
  }

  notify(method: string, params?: Record<string, unknown>): void {
    if (this.#ended === undefined) this.#send({ jsonrpc: '2.0', method, ...(params ? { params } : {}) });
  }

  /** Ends the channel (once): waiting requests fail with the reason. */
  end(reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = reason;
    this.#pending = [];
    for (const waiting of this.#waiting.values()) {
      waiting.timer.cancel();
      waiting.reject(new UpstreamEnded(reason));
    }
    this.#waiting.clear();
    this.#onEnd(reason);
  }

  #send(message: Record<string, unknown>): void {
    try {
      this.#write(`${JSON.stringify(message)}\n`);
    } catch (error) {
      this.end(`its input could not be written (${(error as Error).message})`);
    }
  }

  #line(line: string): void {
    const now = this.#clock.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#linesInWindow = 0;
    }
    this.#linesInWindow += 1;
    if (this.#linesInWindow > this.#bounds.maxLinesPerSecond) {
      this.end(`it wrote more than ${this.#bounds.maxLinesPerSecond} lines within a second`);
      return;
    }
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return; // not a message (MCP servers must not write anything else on stdout; dropped)
    }
    const response = readResponse(value);
    if (!response || typeof response.id !== 'number') return;
    const waiting = this.#waiting.get(response.id);
    if (!waiting) return;
    this.#waiting.delete(response.id);
    waiting.timer.cancel();
    waiting.resolve(response);
  }
}
