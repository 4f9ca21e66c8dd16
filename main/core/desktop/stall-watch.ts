import type { Clock } from '../clock.js';

/**
 * A browser redraws within milliseconds of a page load (its address bar, its tab, the page): page
 * loads with no change on the screen for this long mean the screen does not show what the browser
 * does (a frozen or covered screen), so the screenshots and the live view would not either.
 */
export const STALL_AFTER_MS = 10_000;

export interface StallInfo {
  /** The first page load the screen did not answer. */
  url: string;
  /** Page loads since then. */
  pageLoads: number;
  stillForMs: number;
}

export interface StallWatchOptions {
  screen: {
    /** Compared for equality only: any change of it is a change of the screen (its clock may differ from `clock`). */
    lastChangeAt(): number;
    /** False while the screen is being re-opened: a lost screen is reported as lost, not stalled. */
    readonly connected: boolean;
  };
  clock: Clock;
  stallAfterMs?: number;
  onStalled: (info: StallInfo) => void;
}

/**
 * Reports a screen that stays still while the gateway sees page loads (`screen.stalled`): once per
 * stall, and again only after the screen has changed.
 */
export class StallWatch {
  readonly #options: StallWatchOptions;
  readonly #stallAfterMs: number;
  /** The oldest page load not yet answered by a change of the screen. */
  #pending: { url: string; at: number; mark: number; pageLoads: number } | undefined;
  #timer: { cancel(): void } | undefined;
  /** lastChangeAt() when the last stall was reported: no second report until it moves. */
  #reportedAt: number | undefined;
  #stopped = false;

  constructor(options: StallWatchOptions) {
    this.#options = options;
    this.#stallAfterMs = options.stallAfterMs ?? STALL_AFTER_MS;
  }

  /** The browser loaded a page (from the gateway). */
  navigated(url: string): void {
    if (this.#stopped) return;
    const mark = this.#options.screen.lastChangeAt();
    if (this.#reportedAt !== undefined) {
      if (mark === this.#reportedAt) return; // still the same stall
      this.#reportedAt = undefined;
    }
    if (this.#pending && this.#pending.mark === mark) {
      this.#pending.pageLoads += 1;
      return;
    }
    // The screen changed since the page load we were waiting on (or none was): wait on this one.
    this.#timer?.cancel();
    this.#pending = { url, at: this.#options.clock.now(), mark, pageLoads: 1 };
    this.#timer = this.#options.clock.setTimeout(() => this.#check(), this.#stallAfterMs);
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#pending = undefined;
  }

  #check(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#timer = undefined;
    const { screen, clock, onStalled } = this.#options;
    if (!pending || this.#stopped || !screen.connected) return;
    if (screen.lastChangeAt() !== pending.mark) return;
    this.#reportedAt = pending.mark;
    onStalled({ url: pending.url, pageLoads: pending.pageLoads, stillForMs: clock.now() - pending.at });
  }
}
