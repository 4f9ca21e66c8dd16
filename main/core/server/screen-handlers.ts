/**
 * The live screen's channels. A watch belongs to the caller that asked (a window's contents, or a
 * test-bridge connection): its frames are pushed to that caller alone, and the watch ends on
 * screen.unwatch, when the task's screen goes, or when the caller goes (closed, reloaded,
 * crashed). Control is held by one caller: input from any other is refused, and control is given
 * back when that caller goes, so nobody is left "in control" of a screen nobody is looking at.
 */
import type { ScreenDesk } from '../service/screens.js';
import type { SharedHandlers } from './engine-contract.js';
import { LiveViews } from './live-views.js';

export type ScreenService = Pick<ScreenDesk, 'attachScreen' | 'screenSize' | 'watchScreen' | 'takeControl' | 'releaseControl' | 'screenInput' | 'screenshots' | 'screenshot'>;

type ScreenChannel = 'screen.watch' | 'screen.unwatch' | 'screen.control' | 'screen.input' | 'screen.shots' | 'screen.shot';

/** The screen channels' handlers: per-caller watches and control (see above). */
export function screenHandlers(service: ScreenService): Pick<SharedHandlers, ScreenChannel> {
  const views = new LiveViews({ what: 'screen', releaseControl: (task) => service.releaseControl(task) });

  const watch: SharedHandlers['screen.watch'] = async (task, caller) => {
    await service.attachScreen(task); // a task the CLI runs: watchable here too, view-only
    const size = service.screenSize(task);
    // The task's screen gone: so is its watch, and any control of it.
    views.watch(task, caller, (ended) => service.watchScreen(task, (frame) => caller.push('screen', frame), ended));
    return size;
  };

  return {
    'screen.watch': watch,
    'screen.unwatch': (task, caller) => views.unwatch(task, caller),
    'screen.control': ({ task, take }, caller) => views.control(task, take, caller, () => service.takeControl(task), 'it gives control back first'),
    'screen.input': ({ task, input }, caller) => {
      views.requireControl(task, caller);
      service.screenInput(task, input);
    },
    'screen.shots': (task) => service.screenshots(task),
    'screen.shot': ({ task, index }) => service.screenshot(task, index),
  };
}
