/**
 * The live screens of display tasks, as the service's clients see them: watch (whole screen, then
 * changes), take and give back control (logged), a person's input, and the screenshots in the
 * audit trail. The per-caller side (who watches, who holds control) is server/screen-handlers.ts.
 */
import { AirlockError } from '../errors.js';
import type { ScreenRegistry } from '../desktop/screen-registry.js';
import type { ScreenFrame, ScreenInput, ScreenshotInfo } from '../desktop/types.js';
import type { HomeLayout } from '../home.js';
import type { ExternalScreens } from './external-screens.js';
import { listScreenshots, readScreenshot } from './screenshots.js';

export interface ScreenDeskDeps {
  registry: ScreenRegistry;
  /** Screens of tasks another Airlock process runs (view-only). */
  external: Pick<ExternalScreens, 'attach'>;
  home: HomeLayout;
  /** Who a person taking control is, in the action log. */
  user: () => string;
  /** Makes the trail's records durable before screenshots are read from it. */
  flushAudit: () => Promise<void>;
}

export class ScreenDesk {
  readonly #deps: ScreenDeskDeps;

  constructor(deps: ScreenDeskDeps) {
    this.#deps = deps;
  }

  /**
   * Makes a running display task's screen watchable when another Airlock process runs it (the
   * CLI): view-only. Nothing to do for the app's own tasks, or when the task is not running.
   */
  async attachScreen(task: string): Promise<void> {
    try {
      await this.#deps.external.attach(task);
    } catch (error) {
      // Without an engine no task has a screen: the watch then says there is none (and the app retries).
      if (!(error instanceof AirlockError && error.code === 'engine_unavailable')) throw error;
    }
  }

  /** The size of a running task's live screen; not_found when it has none (yet, or any more). */
  screenSize(task: string): { width: number; height: number } {
    const size = this.#deps.registry.size(task);
    if (!size) throw new AirlockError('not_found', `task ${task} has no live screen`, 'only running tasks whose manifest has display: show a screen (it appears a moment after the task starts)');
    return size;
  }

  /**
   * Watches a running task's screen: the whole screen first, then changed regions. It stops when
   * the returned function is called or when the task's screen goes (then `onEnd` is called).
   */
  watchScreen(task: string, listener: (frame: ScreenFrame) => void, onEnd?: () => void): () => void {
    let stopped = false;
    let stopChanges = (): void => undefined;
    // Frames name the task they are of (whatever the screen itself put there): a UI may watch several.
    const stopFrames = this.#deps.registry.watch(task, (frame) => {
      if (!stopped) listener(frame.task === task ? frame : { ...frame, task });
    });
    const stop = () => {
      if (stopped) return;
      stopped = true;
      stopFrames();
      stopChanges();
    };
    stopChanges = this.#deps.registry.onChange(() => {
      if (this.#deps.registry.has(task)) return;
      stop();
      onEnd?.();
    });
    return stop;
  }

  /** A person takes control of a task's screen: their input reaches it from now on (logged as screen.control). */
  takeControl(task: string): void {
    this.#deps.registry.takeControl(task, this.#deps.user());
  }

  /** Back to view-only (logged). Nothing to do when nobody has control or the screen is gone. */
  releaseControl(task: string): void {
    this.#deps.registry.releaseControl(task);
  }

  /** Pointer or key input for a screen someone took control of; refused while it is view-only. */
  screenInput(task: string, input: ScreenInput): void {
    const size = this.screenSize(task);
    if (input.type === 'pointer' && (input.x >= size.width || input.y >= size.height)) {
      throw new AirlockError('bad_argument', `pointer (${input.x}, ${input.y}) is outside the ${size.width}×${size.height} screen of ${task}`, 'send screen pixels, from 0 to width-1 and height-1');
    }
    this.#deps.registry.input(task, input);
  }

  /** The screenshots of a task, running or long gone, from its screen.capture events in the audit trail. */
  async screenshots(task: string): Promise<ScreenshotInfo[]> {
    await this.#deps.flushAudit();
    return listScreenshots(this.#deps.home.audit, task);
  }

  /** One screenshot's PNG; refused when its file is missing or is not the one the trail recorded. */
  async screenshot(task: string, index: number): Promise<Uint8Array> {
    await this.#deps.flushAudit();
    return readScreenshot(this.#deps.home.audit, this.#deps.home.task(task), task, index);
  }
}
