/**
 * The engine's wire: newline-delimited JSON over its socket. Byte arrays (a screen frame's PNG)
 * cross as {"$bytes": base64}. A client speaks first: {hello}, then {id, channel, args}; the
 * engine answers {hello}, then {id, envelope} and {push, payload}. The hello of every protocol
 * version keeps this shape, so two builds can always tell each other apart.
 */
import type { ErrorEnvelope } from '../../../preload/contract.js';

/** The wire's version: a client and an engine of different numbers do not talk past hello. */
export const PROTOCOL = 1;
/** The longest line a client may send (a call's arguments); longer → an error and the connection closed. */
export const MAX_CLIENT_LINE_BYTES = 8 * 1024 * 1024;
/** The longest line the engine may send (a screen frame) before a client gives up on it. */
export const MAX_ENGINE_LINE_BYTES = 64 * 1024 * 1024;

export interface ClientHello {
  protocol: number;
  build: string;
  /** Who is calling (cli, app, e2e): for the engine's log. */
  client: string;
}

export interface EngineHello {
  protocol: number;
  build: string;
  pid: number;
  /** Tasks running now: a client of another build stops an idle engine, and leaves a busy one be. */
  tasks: number;
  /** The digest of the environment it was started with (settings.ts): a client with other settings treats it as another build. */
  settings?: string;
}

export type ClientMessage = { hello: ClientHello } | { id: number; channel: string; args: unknown };
export type EngineMessage = { hello: EngineHello } | { id: number; envelope: ErrorEnvelope<unknown> } | { push: string; payload: unknown };

/** JSON, with every Uint8Array (Buffer included) as {"$bytes": base64}. */
export function encodeMessage(message: unknown): string {
  return JSON.stringify(message, function (this: Record<string, unknown>, key: string, value: unknown) {
    // The holder's own value: a Buffer's toJSON has already run on `value`.
    const original = this[key];
    return original instanceof Uint8Array ? { $bytes: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') } : value;
  });
}

/** The inverse of encodeMessage; throws SyntaxError on text that is not JSON. */
export function decodeMessage(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const bytes = (value as { $bytes?: unknown }).$bytes;
      if (typeof bytes === 'string' && Object.keys(value).length === 1) return new Uint8Array(Buffer.from(bytes, 'base64'));
    }
    return value;
  });
}

/**
 * Splits a byte stream into lines of at most `maxBytes` (newline excluded). Holds at most one
 * partial line: a longer one is reported once through `onOverflow` and nothing more is read.
 */
export class LineSplitter {
  readonly #maxBytes: number;
  readonly #onLine: (line: string) => void;
  readonly #onOverflow: () => void;
  #parts: Buffer[] = [];
  #held = 0;
  #overflowed = false;

  constructor(maxBytes: number, onLine: (line: string) => void, onOverflow: () => void) {
    this.#maxBytes = maxBytes;
    this.#onLine = onLine;
    this.#onOverflow = onOverflow;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (!this.#overflowed) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      if (this.#held + (end - start) > this.#maxBytes) {
        this.#overflowed = true;
        this.#parts = [];
        this.#onOverflow();
        return;
      }
      if (newline === -1) {
        if (end > start) {
          this.#parts.push(chunk.subarray(start));
          this.#held += end - start;
        }
        return;
      }
      this.#parts.push(chunk.subarray(start, end));
      const line = Buffer.concat(this.#parts).toString('utf8');
      this.#parts = [];
      this.#held = 0;
      start = newline + 1;
      if (line.length > 0) this.#onLine(line);
    }
  }
}

/** A plain object (not an array, not null): the only shape a wire message may have. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}
