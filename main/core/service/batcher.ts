/**
 * Collects items and hands them on in batches: at most `intervalMs` after the first item of a
 * batch, or at once when `maxItems` are waiting. One batch is one message to a UI, so a task that
 * prints 5,000 lines a second costs 20 messages a second, not 5,000.
 */
export class Batcher<T> {
  readonly #flush: (items: T[]) => void;
  readonly #intervalMs: number;
  readonly #maxItems: number;
  #items: T[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(flush: (items: T[]) => void, options: { intervalMs?: number; maxItems?: number } = {}) {
    this.#flush = flush;
    this.#intervalMs = options.intervalMs ?? 50;
    this.#maxItems = options.maxItems ?? 500;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= this.#maxItems) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#intervalMs);
  }

  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.#flush(items);
  }

  close(): void {
    this.flush();
  }
}
