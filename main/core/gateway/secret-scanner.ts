// Finds known values (secrets, placeholders, decoys) in what passes through the gateway, as they
// are and in the simple encodings a value takes on its way into a request or a response: base64
// (standard and URL-safe, padded or not, at any alignment inside a longer base64 text — e.g. a Basic
// auth value), hex (either case), and percent-encoding of any of these. Streaming, with a small
// hold-back so a value split across chunks is still found, and so a match can be replaced by as
// many `*` before any of it is passed on (the length, and so the framing, stays the same).

import { base64Cores } from '../secret-forms.js';

export type ScanForm = 'as is' | 'base64' | 'base64url' | 'hex';

export interface Needle<T> {
  value: string;
  tag: T;
}

export interface Found<T> {
  tag: T;
  /** How the value was written: one of ScanForm, with ", percent-encoded" when it was. */
  form: string;
  /** Where it was, in the bytes scanned (for a percent-encoded match: the encoded bytes). */
  start: number;
  end: number;
}

interface Pattern<T> {
  bytes: Buffer;
  tag: T;
  form: ScanForm;
}

const PERCENT = 0x25;
const STAR = 0x2a;

function patternsOf<T>(needle: Needle<T>): Pattern<T>[] {
  const value = Buffer.from(needle.value, 'utf8');
  const found = new Map<string, ScanForm>([[value.toString('latin1'), 'as is']]);
  for (const { core } of base64Cores(value)) {
    // Too short a core would match by chance: for values under 6 bytes only the plain forms are looked for.
    if (core.length < 8) continue;
    if (!found.has(core)) found.set(core, 'base64');
    const url = core.replace(/\+/g, '-').replace(/\//g, '_');
    if (!found.has(url)) found.set(url, 'base64url');
  }
  const hex = value.toString('hex');
  if (!found.has(hex)) found.set(hex, 'hex');
  if (!found.has(hex.toUpperCase())) found.set(hex.toUpperCase(), 'hex');
  return [...found].map(([text, form]) => ({ bytes: Buffer.from(text, 'latin1'), tag: needle.tag, form }));
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** `%XX` decoded once, with where each decoded byte came from. */
function percentDecode(data: Buffer): { bytes: Buffer; from: Int32Array; to: Int32Array } {
  const bytes = Buffer.allocUnsafe(data.length);
  const from = new Int32Array(data.length);
  const to = new Int32Array(data.length);
  let n = 0;
  for (let i = 0; i < data.length; n++) {
    const high = data[i] === PERCENT && i + 2 < data.length ? hexValue(data[i + 1]!) : -1;
    const low = high >= 0 ? hexValue(data[i + 2]!) : -1;
    from[n] = i;
    if (low >= 0) {
      bytes[n] = high * 16 + low;
      i += 3;
    } else {
      bytes[n] = data[i]!;
      i += 1;
    }
    to[n] = i;
  }
  return { bytes: bytes.subarray(0, n), from: from.subarray(0, n), to: to.subarray(0, n) };
}

export class SecretScanner<T> {
  readonly #patterns: Pattern<T>[];
  /** The longest run of bytes one match can span (a fully percent-encoded pattern). */
  readonly maxSpan: number;

  constructor(needles: readonly Needle<T>[]) {
    this.#patterns = needles.filter((n) => n.value.length > 0).flatMap(patternsOf);
    this.maxSpan = 3 * Math.max(0, ...this.#patterns.map((p) => p.bytes.length));
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** Every match in `data`, in every form (overlapping ones included). */
  scan(data: Buffer | string): Found<T>[] {
    const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const found: Found<T>[] = [];
    for (const pattern of this.#patterns) {
      for (let at = buffer.indexOf(pattern.bytes); at !== -1; at = buffer.indexOf(pattern.bytes, at + 1)) {
        found.push({ tag: pattern.tag, form: pattern.form, start: at, end: at + pattern.bytes.length });
      }
    }
    if (buffer.includes(PERCENT)) {
      const decoded = percentDecode(buffer);
      for (const pattern of this.#patterns) {
        for (let at = decoded.bytes.indexOf(pattern.bytes); at !== -1; at = decoded.bytes.indexOf(pattern.bytes, at + 1)) {
          const start = decoded.from[at]!;
          const end = decoded.to[at + pattern.bytes.length - 1]!;
          if (end - start > pattern.bytes.length) found.push({ tag: pattern.tag, form: `${pattern.form}, percent-encoded`, start, end });
        }
      }
    }
    return found;
  }

  /** The first value found in a text, if any. */
  find(data: Buffer | string): Found<T> | undefined {
    return this.empty ? undefined : this.scan(data)[0];
  }

  /** Replaces every match by as many `*` (same length); returns what was found. */
  redact(buffer: Buffer): Found<T>[] {
    const found = this.scan(buffer);
    for (const match of found) buffer.fill(STAR, match.start, match.end);
    return found;
  }

  /**
   * Where the earliest tail of `data` that could be the start of a match begins (data.length when
   * none could): a stream holds back only that much, so what cannot be part of a value — an
   * event's closing newlines — passes at once instead of waiting for more data.
   */
  possibleStart(data: Buffer): number {
    for (let at = Math.max(0, data.length - this.maxSpan + 1); at < data.length; at++) {
      if (this.#couldBegin(data.subarray(at))) return at;
    }
    return data.length;
  }

  #couldBegin(tail: Buffer): boolean {
    const prefixOf = (bytes: Buffer, pattern: Buffer) => bytes.length <= pattern.length && pattern.subarray(0, bytes.length).equals(bytes);
    let decoded: Buffer | undefined;
    if (tail.includes(PERCENT)) {
      // An escape cut off at the end may still become any byte.
      const cut = tail.at(-1) === PERCENT ? 1 : tail.at(-2) === PERCENT && hexValue(tail.at(-1)!) >= 0 ? 2 : 0;
      decoded = percentDecode(tail.subarray(0, tail.length - cut)).bytes;
    }
    return this.#patterns.some((pattern) => prefixOf(tail, pattern.bytes) || (decoded !== undefined && prefixOf(decoded, pattern.bytes)));
  }

  /** For a stream: see StreamScan. */
  stream(mode: 'redact' | 'detect'): StreamScan<T> {
    return new StreamScan(this, mode);
  }
}

/**
 * One stream's scan: each chunk is scanned together with what was held back before, and a tail
 * that could be the start of a value (at most `maxSpan` bytes) is held back until the next chunk
 * (or the end), so no part of a value that spans chunks has been passed on when it is found. `redact` replaces matches; `detect` only reports them.
 */
export class StreamScan<T> {
  readonly #scanner: SecretScanner<T>;
  readonly #mode: 'redact' | 'detect';
  #held = Buffer.alloc(0);

  constructor(scanner: SecretScanner<T>, mode: 'redact' | 'detect') {
    this.#scanner = scanner;
    this.#mode = mode;
  }

  /** Returns the bytes that may be passed on now, and the values first seen in this chunk. */
  push(chunk: Buffer): { output: Buffer; found: Found<T>[] } {
    const heldLength = this.#held.length;
    const data = heldLength === 0 ? Buffer.from(chunk) : Buffer.concat([this.#held, chunk]);
    const found = this.#scan(data, heldLength);
    // Held back: only a tail that could still become a value (once redacted, `*` begins none).
    const keepFrom = this.#scanner.possibleStart(data);
    this.#held = data.subarray(keepFrom);
    return { output: data.subarray(0, keepFrom), found };
  }

  /** The end of the stream: what was held back. */
  end(): Buffer {
    const rest = this.#held;
    this.#held = Buffer.alloc(0);
    return rest;
  }

  #scan(data: Buffer, heldLength: number): Found<T>[] {
    // A match wholly inside what was held back was found (and replaced) with the chunk before.
    const found = this.#scanner.scan(data).filter((match) => match.end > heldLength);
    if (this.#mode === 'redact') for (const match of found) data.fill(STAR, match.start, match.end);
    return found;
  }
}
