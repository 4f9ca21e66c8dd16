/**
 * Bytes from a stream, in the pieces they arrived in, read back by exact lengths: a protocol parser
 * asks for "the next n bytes" without copying the whole backlog on every piece.
 */
export class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  /** Bytes waiting to be read. */
  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  clear(): void {
    this.#chunks = [];
    this.#length = 0;
  }

  /** The next n bytes without consuming them, or undefined if they have not all arrived. */
  peek(n: number): Buffer | undefined {
    if (this.#length < n) return undefined;
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    // Copy exactly n bytes into one chunk that replaces the pieces they came from (the rest of the
    // last piece stays a view), so neither take nor a later peek copies them again.
    const joined = Buffer.allocUnsafe(n);
    let size = 0;
    while (size < n) {
      const chunk = this.#chunks.shift()!;
      const used = Math.min(chunk.length, n - size);
      chunk.copy(joined, size, 0, used);
      size += used;
      if (used < chunk.length) this.#chunks.unshift(chunk.subarray(used));
    }
    this.#chunks.unshift(joined);
    return joined;
  }

  /** The next n bytes, consumed, or undefined (and nothing consumed) if they have not all arrived. */
  take(n: number): Buffer | undefined {
    const bytes = this.peek(n);
    if (bytes) this.discard(n);
    return bytes;
  }

  /** Drops the next n bytes (at most length). */
  discard(n: number): void {
    this.#length -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      if (first.length > n) {
        this.#chunks[0] = first.subarray(n);
        return;
      }
      n -= first.length;
      this.#chunks.shift();
    }
  }
}
