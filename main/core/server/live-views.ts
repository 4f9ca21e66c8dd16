/**
 * Who watches and who controls a task's live views (its screen, its terminal), per caller. A watch
 * belongs to the caller that asked; control is held by one caller at a time. When a caller goes
 * (closed, reloaded, crashed, disconnected) its watches stop and control is given back, so nobody
 * is left "in control" of a view nobody is looking at. The screen and terminal handlers share it.
 */
import { AirlockError } from '../errors.js';
import type { Caller } from './dispatch.js';

interface CallerState {
  /** Task → stops that watch. */
  watches: Map<string, () => void>;
  /** Tasks whose view this caller controls. */
  controls: Set<string>;
  undoGone: () => void;
}

export interface LiveViewOptions {
  /** What the view is called in refusals: `screen`, `terminal`. */
  what: string;
  /** Gives control back in the service (recorded); it may throw when the view is already gone. */
  releaseControl: (task: string) => void;
}

export class LiveViews {
  readonly #states = new Map<Caller, CallerState>();
  readonly #controllers = new Map<string, Caller>();
  readonly #options: LiveViewOptions;

  constructor(options: LiveViewOptions) {
    this.#options = options;
  }

  /**
   * Watches `task` for `caller` with `start` (which returns how to stop): watching again starts
   * again. `onEnd` (the view is gone) is given a function that forgets the watch and any control of it.
   */
  watch(task: string, caller: Caller, start: (ended: () => void) => () => void): void {
    const state = this.#stateOf(caller);
    state.watches.get(task)?.();
    state.watches.delete(task);
    let stop: () => void = () => undefined;
    const ended = () => {
      if (state.watches.get(task) === stop) state.watches.delete(task);
      if (this.#controllers.get(task) === caller) {
        this.#controllers.delete(task);
        state.controls.delete(task);
      }
      this.#tidy(caller);
    };
    try {
      stop = start(ended);
    } catch (error) {
      this.#tidy(caller);
      throw error;
    }
    state.watches.set(task, stop);
  }

  /** Ends `caller`'s watch of `task` as if it had unwatched (a watcher that fell behind). */
  dropWatch(task: string, caller: Caller): void {
    const state = this.#states.get(caller);
    state?.watches.get(task)?.();
    state?.watches.delete(task);
    this.#tidy(caller);
  }

  unwatch(task: string, caller: Caller): void {
    this.dropWatch(task, caller);
  }

  /** Takes control (`take`) through `takeInService`, refused while another caller holds it; or gives it back. */
  control(task: string, take: boolean, caller: Caller, takeInService: () => void, holderHint: string): void {
    if (!take) {
      this.#release(task, caller);
      this.#tidy(caller);
      return;
    }
    const holder = this.#controllers.get(task);
    if (holder === caller) return;
    if (holder) throw new AirlockError('policy_refused', `another client has control of the ${this.#options.what} of ${task}`, holderHint);
    takeInService();
    this.#controllers.set(task, caller);
    this.#stateOf(caller).controls.add(task);
  }

  /** Refuses a caller that does not hold control of `task`. */
  requireControl(task: string, caller: Caller): void {
    if (this.#controllers.get(task) !== caller) {
      throw new AirlockError('policy_refused', `the ${this.#options.what} of ${task} is view-only for this client`, 'take control first (it is recorded in the action log)');
    }
  }

  #stateOf(caller: Caller): CallerState {
    let state = this.#states.get(caller);
    if (!state) {
      const created: CallerState = { watches: new Map(), controls: new Set(), undoGone: () => undefined };
      created.undoGone = caller.onGone(() => {
        for (const stop of created.watches.values()) stop();
        for (const task of created.controls) this.#release(task, caller);
        this.#states.delete(caller);
      });
      this.#states.set(caller, (state = created));
    }
    return state;
  }

  /** Forgets a caller that watches nothing and controls nothing. */
  #tidy(caller: Caller): void {
    const state = this.#states.get(caller);
    if (state && state.watches.size === 0 && state.controls.size === 0) {
      state.undoGone();
      this.#states.delete(caller);
    }
  }

  #release(task: string, caller: Caller): void {
    if (this.#controllers.get(task) !== caller) return;
    this.#controllers.delete(task);
    this.#states.get(caller)?.controls.delete(task);
    this.#options.releaseControl(task);
  }
}
