/**
 * Retry delays after a send the collector did not acknowledge: exponential (1 s, 2 s, 4 s… up to
 * 5 min) with full jitter above the first step, so machines that lost the same collector do not all
 * come back at once. `random` is injected (tests pin it).
 */
export interface BackoffOptions {
  firstMs?: number;
  maxMs?: number;
  random?: () => number;
}

export class Backoff {
  readonly #first: number;
  readonly #max: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.#first = options.firstMs ?? 1000;
    this.#max = options.maxMs ?? 300_000;
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** The wait after one more failure: uniform between the first step and the current ceiling. */
  next(retryAfterMs?: number): number {
    const ceiling = Math.min(this.#max, this.#first * 2 ** Math.min(this.#failures, 30));
    this.#failures += 1;
    const random = Math.min(1, Math.max(0, this.#random()));
    const jittered = Math.round(this.#first + random * (ceiling - this.#first));
    // The collector said when (Retry-After, capped by the transport): never sooner than that.
    return retryAfterMs !== undefined && retryAfterMs > jittered ? retryAfterMs : jittered;
  }

  reset(): void {
    this.#failures = 0;
  }
}
