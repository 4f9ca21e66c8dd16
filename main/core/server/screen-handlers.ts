/**
 * The live screen's channels. A watch belongs to the caller that asked (a window's contents, or a
 * test-bridge connection): its frames are pushed to that caller alone, and the watch ends on
 * screen.unwatch, when the task's screen goes, or when the caller goes (closed, reloaded,
 * crashed). Control is held by one caller: input from any other is refused, and control is given
 * back when that caller goes, so nobody is left "in control" of a screen nobody is looking at.
 */
import type { ScreenDesk } from '../service/screens.js';
import { AirlockError } from '../errors.js';
import type { Caller } from './dispatch.js';
import type { SharedHandlers } from './engine-contract.js';

export type ScreenService = Pick<ScreenDesk, 'attachScreen' | 'screenSize' | 'watchScreen' | 'takeControl' | 'releaseControl' | 'screenInput' | 'screenshots' | 'screenshot'>;

interface CallerState {
  /** Task → stops that watch. */
  watches: Map<string, () => void>;
  /** Tasks whose screen this caller controls. */
  controls: Set<string>;
  undoGone: () => void;
}

type ScreenChannel = 'screen.watch' | 'screen.unwatch' | 'screen.control' | 'screen.input' | 'screen.shots' | 'screen.shot';

/** The screen channels' handlers: per-caller watches and control (see above). */
export function screenHandlers(service: ScreenService): Pick<SharedHandlers, ScreenChannel> {
  const states = new Map<Caller, CallerState>();
  const controllers = new Map<string, Caller>();

  const stateOf = (caller: Caller): CallerState => {
    let state = states.get(caller);
    if (!state) {
      const created: CallerState = { watches: new Map(), controls: new Set(), undoGone: () => undefined };
      created.undoGone = caller.onGone(() => {
        for (const stop of created.watches.values()) stop();
        for (const task of created.controls) release(task, caller);
        states.delete(caller);
      });
      states.set(caller, (state = created));
    }
    return state;
  };
  /** Forgets a caller that watches nothing and controls nothing. */
  const tidy = (caller: Caller) => {
    const state = states.get(caller);
    if (state && state.watches.size === 0 && state.controls.size === 0) {
      state.undoGone();
      states.delete(caller);
    }
  };
  const release = (task: string, caller: Caller) => {
    if (controllers.get(task) !== caller) return;
    controllers.delete(task);
    states.get(caller)?.controls.delete(task);
    service.releaseControl(task);
  };

  const watch: SharedHandlers['screen.watch'] = async (task, caller) => {
    await service.attachScreen(task); // a task the CLI runs: watchable here too, view-only
    const size = service.screenSize(task);
    const state = stateOf(caller);
    state.watches.get(task)?.(); // watching again starts again, with the whole screen
    state.watches.delete(task);
    let stop: () => void;
    try {
      stop = service.watchScreen(task, (frame) => caller.push('screen', frame), () => {
        // The task's screen is gone: so is its watch, and any control of it.
        if (state.watches.get(task) === stop) state.watches.delete(task);
        if (controllers.get(task) === caller) {
          controllers.delete(task);
          state.controls.delete(task);
        }
        tidy(caller);
      });
    } catch (error) {
      tidy(caller);
      throw error;
    }
    state.watches.set(task, stop);
    return size;
  };

  const unwatch: SharedHandlers['screen.unwatch'] = (task, caller) => {
    const state = states.get(caller);
    state?.watches.get(task)?.();
    state?.watches.delete(task);
    tidy(caller);
  };

  const control: SharedHandlers['screen.control'] = ({ task, take }, caller) => {
    if (!take) {
      release(task, caller);
      tidy(caller);
      return;
    }
    const holder = controllers.get(task);
    if (holder === caller) return;
    if (holder) throw new AirlockError('policy_refused', `another window has control of the screen of ${task}`, 'it gives control back first');
    service.takeControl(task);
    controllers.set(task, caller);
    stateOf(caller).controls.add(task);
  };

  const input: SharedHandlers['screen.input'] = ({ task, input }, caller) => {
    if (controllers.get(task) !== caller) {
      throw new AirlockError('policy_refused', `the screen of ${task} is view-only for this window`, 'take control first (it is recorded in the action log)');
    }
    service.screenInput(task, input);
  };

  return {
    'screen.watch': watch,
    'screen.unwatch': unwatch,
    'screen.control': control,
    'screen.input': input,
    'screen.shots': (task) => service.screenshots(task),
    'screen.shot': ({ task, index }) => service.screenshot(task, index),
  };
}
