/**
 * When an engine with nothing to do leaves: no client connected and no task running for
 * `idleMs` (0 = never). Re-checked whenever clients or tasks change; timers are injected so a
 * test can drive the clock.
 */
export interface IdleTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: IdleTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class IdleExit {
  readonly #isIdle: () => boolean;
  readonly #onIdle: () => void;
  readonly #timers: IdleTimers;
  #idleMs: number;
  #timer: unknown;
  #fired = false;

  constructor(options: { idleMs: number; isIdle: () => boolean; onIdle: () => void; timers?: IdleTimers }) {
    this.#idleMs = options.idleMs;
    this.#isIdle = options.isIdle;
    this.#onIdle = options.onIdle;
    this.#timers = options.timers ?? realTimers;
  }

  get idleMs(): number {
    return this.#idleMs;
  }

  /** Leave as soon as idle (a client of a newer build asked): no waiting period. */
  retire(): void {
    this.#idleMs = 1;
    this.#cancel();
    this.check();
  }

  check(): void {
    if (this.#fired || this.#idleMs <= 0) return;
    if (!this.#isIdle()) {
      this.#cancel();
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      if (this.#fired || !this.#isIdle()) return;
      this.#fired = true;
      this.#onIdle();
    }, this.#idleMs);
  }

  dispose(): void {
    this.#fired = true;
    this.#cancel();
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
