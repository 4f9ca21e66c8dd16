// The start and the end of a text too long to hold: usage comes at the end of a provider's answer
// (or of one streamed event), the model's name near its start, and what is between is never kept.

export const HEAD_BYTES = 16 * 1024;
export const TAIL_BYTES = 64 * 1024;

export class CappedText {
  #head = Buffer.alloc(0);
  #tail: Buffer[] = [];
  #tailLength = 0;
  #total = 0;

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    if (this.#head.length < HEAD_BYTES) {
      const take = Math.min(HEAD_BYTES - this.#head.length, chunk.length);
      this.#head = Buffer.concat([this.#head, chunk.subarray(0, take)]);
    }
    this.#tail.push(chunk);
    this.#tailLength += chunk.length;
    // Compacted only once twice the tail is held: each byte is copied a bounded number of times.
    if (this.#tailLength > 2 * TAIL_BYTES) {
      const kept = Buffer.concat(this.#tail).subarray(-TAIL_BYTES);
      this.#tail = [Buffer.from(kept)];
      this.#tailLength = kept.length;
    }
  }

  get length(): number {
    return this.#total;
  }

  head(): string {
    return this.#head.toString('utf8');
  }

  /** The last TAIL_BYTES at most (the whole text when it was that short). */
  tail(): string {
    return Buffer.concat(this.#tail).subarray(-TAIL_BYTES).toString('utf8');
  }
}
