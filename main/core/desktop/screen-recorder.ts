import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { CaptureReason, LiveScreen, ScreenshotInfo } from './types.js';

export interface ScreenRecorderOptions {
  screen: LiveScreen;
  /** The task's folder: screenshots go to `screens/` inside it. */
  taskDir: string;
  clock: Clock;
  /** Records a `screen.capture` event. */
  emit: (info: Omit<ScreenshotInfo, 'time'>) => void;
  /** A screenshot this often while the screen changes; 0 = only navigations and the last screen. */
  everyMs: number;
  /** How long the screen must stay still after a navigation before it is captured (the page has drawn). */
  settleMs?: number;
  /** Capture a navigation after at most this long, settled or not (animated pages). */
  maxSettleMs?: number;
  /**
   * A runaway agent (a page that changes all the time, a storm of page loads) must not fill the
   * disk: screenshots stop at this many or this many bytes, with `onLimit` once; room for the last
   * screen is kept (one shot, and a whole screen's raw size).
   */
  maxShots?: number;
  maxBytes?: number;
  onLimit?: (info: { reason: string; screenshots: number; bytes: number }) => void;
}

export const SCREENSHOT_LIMITS = { maxShots: 2_000, maxBytes: 500 * 1024 ** 2 };

/** A screen that went away mid-capture must not hold up the end of the task. */
const CAPTURE_TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no screenshot within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Keeps a task's screen in its action log, for a replay after the task is gone: a screenshot at the
 * start, every `everyMs` while the screen changes, after every page load once the screen settles,
 * and at the end. Each is a PNG in the task's folder and a `screen.capture` event with its size and
 * sha256 (so the file can be checked against the tamper-evident log). An unchanged screen is not
 * captured twice. Captures run one at a time, in order.
 */
export class ScreenRecorder {
  readonly #options: Required<Omit<ScreenRecorderOptions, 'emit' | 'screen' | 'taskDir' | 'clock' | 'onLimit'>> & ScreenRecorderOptions;
  #index = 0;
  #bytes = 0;
  #limited = false;
  #lastSha = '';
  #lastCaptureAt = 0;
  #queue: Promise<void> = Promise.resolve();
  #interval: { cancel(): void } | undefined;
  #navigation: { cancel(): void } | undefined;
  #pendingUrl: string | undefined;
  #stopped = false;
  #failures = 0;

  constructor(options: ScreenRecorderOptions) {
    this.#options = { settleMs: 400, maxSettleMs: 3_000, ...SCREENSHOT_LIMITS, ...options };
  }

  get count(): number {
    return this.#index;
  }

  /** Captures that could not be taken (the screen was gone): for diagnostics. */
  get failures(): number {
    return this.#failures;
  }

  start(): void {
    this.#capture('start');
    this.#scheduleInterval();
  }

  /** The browser loaded a page: capture it once it has drawn. */
  navigated(url: string): void {
    if (this.#stopped) return;
    this.#pendingUrl = url;
    this.#navigation?.cancel();
    const began = this.#options.clock.now();
    const check = (): void => {
      const { clock, screen, settleMs, maxSettleMs } = this.#options;
      const still = clock.now() - Math.max(screen.lastChangeAt(), began);
      if (still >= settleMs || clock.now() - began >= maxSettleMs) {
        this.#navigation = undefined;
        const captured = this.#pendingUrl;
        this.#pendingUrl = undefined;
        this.#capture('navigation', captured);
        return;
      }
      this.#navigation = clock.setTimeout(check, Math.min(settleMs - still, 100) || 50);
    };
    this.#navigation = this.#options.clock.setTimeout(check, this.#options.settleMs);
  }

  /** The last screen (whatever changed), then no more; resolves when every capture is written. */
  async stop(): Promise<void> {
    if (this.#stopped) return this.#queue;
    this.#interval?.cancel();
    this.#navigation?.cancel();
    if (this.#pendingUrl !== undefined) this.#capture('navigation', this.#pendingUrl);
    this.#capture('final', undefined, true);
    this.#stopped = true;
    return this.#queue;
  }

  #scheduleInterval(): void {
    const { everyMs, clock, screen } = this.#options;
    if (everyMs <= 0) return;
    this.#interval = clock.setTimeout(() => {
      if (this.#stopped) return;
      if (screen.lastChangeAt() > this.#lastCaptureAt) this.#capture('interval');
      this.#scheduleInterval();
    }, everyMs);
  }

  #limit(): void {
    if (this.#limited) return;
    this.#limited = true;
    const { maxShots, maxBytes } = this.#options;
    this.#options.onLimit?.({
      reason: `screenshot limit reached (${maxShots} screenshots or ${maxBytes} bytes): no more are kept but the last screen`,
      screenshots: this.#index, bytes: this.#bytes,
    });
  }

  #capture(reason: CaptureReason, url?: string, last = false): void {
    if (this.#stopped) return;
    this.#queue = this.#queue.then(async () => {
      const { screen, taskDir, clock, emit, maxShots, maxBytes } = this.#options;
      if (this.#limited && !last) return;
      this.#lastCaptureAt = clock.now();
      let shot: Awaited<ReturnType<LiveScreen['capture']>>;
      try {
        shot = await withTimeout(screen.capture(), CAPTURE_TIMEOUT_MS);
      } catch {
        // The screen went away with the container (a final capture after a crash): nothing to keep.
        this.#failures += 1;
        return;
      }
      const sha256 = createHash('sha256').update(shot.png).digest('hex');
      if (sha256 === this.#lastSha && reason !== 'navigation') return;
      // Short of the caps by one shot and one raw screen, except the last: the end is always kept.
      const reserve = last ? 0 : shot.width * shot.height * 4 + 1024;
      if (this.#index + (last ? 1 : 2) > maxShots || this.#bytes + shot.png.length + reserve > maxBytes) {
        this.#limit();
        return;
      }
      this.#lastSha = sha256;
      const index = this.#index + 1;
      const file = path.posix.join('screens', `${String(index).padStart(4, '0')}.png`);
      await fs.promises.mkdir(path.join(taskDir, 'screens'), { recursive: true });
      await fs.promises.writeFile(path.join(taskDir, file), shot.png, { mode: 0o600 });
      this.#index = index;
      this.#bytes += shot.png.length;
      emit({ index, reason, width: shot.width, height: shot.height, bytes: shot.png.length, sha256, file, ...(url !== undefined ? { url } : {}) });
    }).catch(() => {
      this.#failures += 1;
    });
  }
}
