import type { Clock } from '../clock.js';
import { AirlockError } from '../errors.js';
import type { LiveScreen, ScreenFrame, ScreenInput } from './types.js';

/** One session with the screen (ScreenSession): it ends on its own when its helpers die. */
export interface ScreenConnection extends LiveScreen {
  readonly ended: Promise<AirlockError | undefined>;
  readonly stats: { bytesReceived: number };
  ping(): void;
}

export type ContainerState = 'running' | 'paused' | 'gone';

export interface KeptScreenTiming {
  /** The first re-open waits this long; each further one in a row twice as long, up to maxRetryMs. */
  firstRetryMs: number;
  maxRetryMs: number;
  /** A session that lasted this long starts the backoff afresh. */
  stableMs: number;
  /** Nothing heard from the screen for this long: it is pinged (it must answer even when idle)… */
  silenceMs: number;
  /** …and it is lost when the ping has no answer for this long (its helpers were stopped, not killed). */
  answerMs: number;
  /** How long an ended session waits before asking whether the container is still running (it may be ending). */
  endGraceMs: number;
}

const DEFAULT_TIMING: KeptScreenTiming = { firstRetryMs: 1_000, maxRetryMs: 30_000, stableMs: 60_000, silenceMs: 4_000, answerMs: 8_000, endGraceMs: 1_000 };

export interface KeptScreenOptions {
  open: () => Promise<ScreenConnection>;
  /** Asked before a loss counts: a screen gone with its container is the task ending, not a loss. */
  containerState: () => Promise<ContainerState>;
  clock: Clock;
  /** The screen is (again) up: `reopened` counts the losses before it. */
  onOpened: (info: { width: number; height: number; reopened: number }) => void;
  onOpenFailed: (error: Error, retryInMs: number | undefined) => void;
  /** The screen went away while the task runs: a violation; it is re-opened after `retryInMs`. */
  onLost: (info: { reason: string; losses: number; retryInMs: number }) => void;
  timing?: Partial<KeptScreenTiming>;
}

/**
 * A task's screen that stays recorded while the task runs. The session's helpers run as a user of
 * their own, but the X server they read is the agent's: the agent can still cut them off (kill
 * their X connection, stop its X server, exhaust the container's memory or processes), and a
 * session can end over its budget. A session that ends, or stops answering a ping, while the
 * container still runs is a loss (reported, for the violation) and is re-opened with backoff, so a
 * loop of cuts costs Airlock one attempt per backoff step, never a spin. Watchers and the
 * screenshot recorder hold this object and carry on with each new session.
 */
export class KeptScreen implements LiveScreen {
  readonly #options: KeptScreenOptions;
  readonly #timing: KeptScreenTiming;
  readonly #watchers = new Map<(frame: ScreenFrame) => void, () => void>();
  #current: ScreenConnection | undefined;
  #openedAt = 0;
  #losses = 0;
  /** Losses and failed opens in a row, for the backoff. */
  #inARow = 0;
  #size = { width: 0, height: 0 };
  #lastChangeAt = 0;
  #timer: { cancel(): void } | undefined;
  #closed = false;

  constructor(options: KeptScreenOptions) {
    this.#options = options;
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
  }

  /** Opens the screen; resolves once the first attempt has settled (opened or failed). Never rejects. */
  start(): Promise<void> {
    return this.#open().catch(() => undefined);
  }

  get width(): number {
    return this.#current?.width ?? this.#size.width;
  }

  get height(): number {
    return this.#current?.height ?? this.#size.height;
  }

  /** A session is open (false while the screen is being re-opened after a loss). */
  get connected(): boolean {
    return this.#current !== undefined;
  }

  watch(listener: (frame: ScreenFrame) => void): () => void {
    this.#watchers.set(listener, this.#current?.watch(listener) ?? (() => undefined));
    return () => {
      this.#watchers.get(listener)?.();
      this.#watchers.delete(listener);
    };
  }

  capture(): Promise<{ png: Buffer; width: number; height: number }> {
    return this.#current?.capture() ?? Promise.reject(new AirlockError('not_found', 'the screen is being re-opened'));
  }

  lastChangeAt(): number {
    return Math.max(this.#lastChangeAt, this.#current?.lastChangeAt() ?? 0);
  }

  input(event: ScreenInput): void {
    if (!this.#current) throw new AirlockError('not_found', 'the screen is being re-opened');
    this.#current.input(event);
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#current?.close();
    this.#current = undefined;
  }

  async #open(): Promise<void> {
    let session: ScreenConnection;
    try {
      session = await this.#options.open();
    } catch (error) {
      if (this.#closed) return;
      // A desktop that is not in the image will not appear by trying again.
      const hopeless = (error as { code?: string }).code === 'image_missing' || (await this.#state()) === 'gone';
      const retryInMs = hopeless ? undefined : this.#backoff();
      this.#options.onOpenFailed(error as Error, retryInMs);
      if (retryInMs !== undefined) this.#retryIn(retryInMs);
      return;
    }
    if (this.#closed) {
      session.close();
      return;
    }
    this.#current = session;
    this.#openedAt = this.#options.clock.now();
    this.#size = { width: session.width, height: session.height };
    for (const [listener] of this.#watchers) this.#watchers.set(listener, session.watch(listener));
    this.#options.onOpened({ width: session.width, height: session.height, reopened: this.#losses });
    session.ended.then((error) => {
      if (this.#current !== session || this.#closed) return;
      this.#timer?.cancel();
      const reason = error ? `its session ended: ${error.message}` : 'its session ended';
      // The container may be on its way out (the task ending): give it a moment to say so.
      this.#timer = this.#options.clock.setTimeout(() => settle(this.#lost(session, reason)), this.#timing.endGraceMs);
    }).catch(() => undefined);
    this.#watchdog(session);
  }

  /** Pings a silent screen, and gives it up when the ping has no answer. */
  #watchdog(session: ScreenConnection): void {
    const { clock } = this.#options;
    let heard = session.stats.bytesReceived;
    let pingedAt: number | undefined;
    const tick = () => {
      if (this.#current !== session || this.#closed) return;
      const bytes = session.stats.bytesReceived;
      if (bytes !== heard) {
        heard = bytes;
        pingedAt = undefined;
      } else if (pingedAt === undefined) {
        session.ping();
        pingedAt = clock.now();
      } else if (clock.now() - pingedAt >= this.#timing.answerMs) {
        settle(this.#lost(session, `it stopped answering for ${Math.round((clock.now() - pingedAt) / 1000)} s`));
        return;
      }
      this.#timer = clock.setTimeout(tick, this.#timing.silenceMs);
    };
    this.#timer = clock.setTimeout(tick, this.#timing.silenceMs);
  }

  async #lost(session: ScreenConnection, reason: string): Promise<void> {
    const state = await this.#state();
    if (this.#current !== session || this.#closed) return;
    if (state === 'gone') {
      this.close(); // the task is ending: nothing was lost
      return;
    }
    if (state === 'paused') {
      this.#watchdog(session); // frozen by Airlock: a silent screen is expected
      return;
    }
    this.#current = undefined;
    this.#lastChangeAt = session.lastChangeAt();
    session.close();
    for (const [listener] of this.#watchers) this.#watchers.set(listener, () => undefined);
    if (this.#options.clock.now() - this.#openedAt >= this.#timing.stableMs) this.#inARow = 0;
    this.#losses += 1;
    const retryInMs = this.#backoff();
    this.#options.onLost({ reason, losses: this.#losses, retryInMs });
    this.#retryIn(retryInMs);
  }

  #backoff(): number {
    this.#inARow += 1;
    return Math.min(this.#timing.maxRetryMs, this.#timing.firstRetryMs * 2 ** (this.#inARow - 1));
  }

  #retryIn(ms: number): void {
    this.#timer?.cancel();
    this.#timer = this.#options.clock.setTimeout(() => settle(this.#open()), ms);
  }

  async #state(): Promise<ContainerState> {
    return this.#options.containerState().catch(() => 'gone' as const);
  }
}

/** Runs a step in the background: a failing callback must not become an unhandled rejection. */
function settle(step: Promise<void>): void {
  step.catch(() => undefined);
}
