// What one live-view session may cost Airlock: the work of each update, the time of each parsing
// slice, the CPU over a window, and the bytes waiting to be parsed. The RFB stream's content comes
// from the agent's X server, so these hold whatever the stream says.
import { budgetError } from './rfb-messages.js';

export interface RfbBudget {
  /** Parsing runs in slices of at most this long; then the event loop gets its turn. */
  sliceMs: number;
  /** Parsing may take at most cpuMaxMs of every cpuWindowMs (about 40% of a core by default)… */
  cpuWindowMs: number;
  cpuMaxMs: number;
  /** …and at most this many received bytes may wait to be parsed before push() asks the source to pause… */
  backlogHighBytes: number;
  /** …and past this many (a source that does not pause) the session ends. */
  backlogMaxBytes: number;
  /** Milliseconds, monotonic: the slices' clock (performance.now unless a test injects one). */
  now: () => number;
}

export const DEFAULT_RFB_BUDGET: RfbBudget = {
  sliceMs: 8,
  cpuWindowMs: 10_000,
  cpuMaxMs: 4_000,
  backlogHighBytes: 4 * 1024 ** 2,
  backlogMaxBytes: 64 * 1024 ** 2,
  now: () => performance.now(),
};

/** The most one FramebufferUpdate may hold, for a screen of its size. */
export interface UpdateLimits {
  /** Rectangles: one per 256 pixels of the screen (x11vnc sends changed 32×32 tiles), at least 256. */
  rects: number;
  /** Raw pixel bytes: twice the screen (x11vnc sends each changed pixel once per update). */
  rawBytes: number;
  /** Pixels moved by CopyRect: four times the screen (a scroll moves less than one). */
  copied: number;
}

export function updateLimits(width: number, height: number): UpdateLimits {
  const pixels = width * height;
  return { rects: Math.max(256, Math.ceil(pixels / 256)), rawBytes: pixels * 4 * 2, copied: pixels * 4 };
}

/** What one update has cost so far; charging past a limit throws (the session ends). */
export class UpdateWork {
  readonly #limits: UpdateLimits;
  readonly #size: string;
  readonly #spent = { rawBytes: 0, copied: 0 };

  /** `rects`: the count the update's header announced, checked before any is read. */
  constructor(width: number, height: number, rects: number) {
    this.#limits = updateLimits(width, height);
    this.#size = `${width}x${height}`;
    if (rects > this.#limits.rects) throw budgetError(`an update of ${rects} rectangles (at most ${this.#limits.rects} on a ${this.#size} screen)`);
  }

  /** The same update after a DesktopSize: the rest of it is bounded by the new screen. */
  resized(width: number, height: number): UpdateWork {
    const next = new UpdateWork(width, height, 0);
    Object.assign(next.#spent, this.#spent);
    return next;
  }

  charge(what: 'rawBytes' | 'copied', amount: number): void {
    this.#spent[what] += amount;
    if (this.#spent[what] <= this.#limits[what]) return;
    throw budgetError(what === 'rawBytes'
      ? `an update of more than ${this.#limits.rawBytes} bytes of pixels (twice the ${this.#size} screen)`
      : `an update that copies more than ${this.#limits.copied} pixels (four times the ${this.#size} screen)`);
  }
}

/** Times the parsing slices of one session and keeps its CPU within the budget. */
export class RfbBudgetMeter {
  readonly budget: RfbBudget;
  #totalMs = 0;
  #deadline = Number.POSITIVE_INFINITY;
  #windowStart: number | undefined;
  #windowSpent = 0;

  constructor(budget: Partial<RfbBudget> = {}) {
    this.budget = { ...DEFAULT_RFB_BUDGET, ...budget };
  }

  get totalMs(): number {
    return this.#totalMs;
  }

  startSlice(): { started: number; late: () => boolean } {
    const started = this.budget.now();
    this.#deadline = started + this.budget.sliceMs;
    return { started, late: () => this.late() };
  }

  /** The current slice's time is up. */
  late(): boolean {
    return this.budget.now() >= this.#deadline;
  }

  /** Books the slice; returns why the session is over its CPU budget, if it is. */
  endSlice(slice: { started: number }): string | undefined {
    const now = this.budget.now();
    const spent = now - slice.started;
    this.#totalMs += spent;
    this.#deadline = Number.POSITIVE_INFINITY;
    if (this.#windowStart === undefined || now - this.#windowStart >= this.budget.cpuWindowMs) {
      this.#windowStart = slice.started;
      this.#windowSpent = 0;
    }
    this.#windowSpent += spent;
    if (this.#windowSpent <= this.budget.cpuMaxMs) return undefined;
    return `parsing it took ${Math.round(this.#windowSpent)} ms of Airlock's CPU within ${this.budget.cpuWindowMs / 1000} s (at most ${this.budget.cpuMaxMs} ms)`;
  }
}
