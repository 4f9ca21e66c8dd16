// How often each model request (by digest) was sent on one chain, bounded: an agent that sends
// endless distinct requests cannot grow it past MAX_KINDS (the oldest are forgotten).
const MAX_KINDS = 4096;

export class RepeatWatch {
  readonly #counts = new Map<string, number>();

  /** Counts one more of `digest`; returns how many there have been. */
  count(digest: string): number {
    const count = (this.#counts.get(digest) ?? 0) + 1;
    this.#counts.delete(digest);
    this.#counts.set(digest, count);
    if (this.#counts.size > MAX_KINDS) this.#counts.delete(this.#counts.keys().next().value!);
    return count;
  }
}
