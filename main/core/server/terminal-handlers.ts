/**
 * The interactive session's channels (`run -it`, the app's Terminal tab). A watch belongs to the
 * caller that asked: its bytes are pushed to that caller alone, until terminal.unwatch, the
 * session's end, or the caller's. A caller that falls too far behind (bytes it has not read piling
 * up) loses its watch with a note instead of making the engine hold more for it; the agent never
 * waits on a watcher. Control is held by one caller: keys and resizes from any other are refused,
 * and control is given back when that caller goes.
 */
import type { TerminalDesk } from '../service/terminals.js';
import type { SharedHandlers } from './engine-contract.js';
import { LiveViews } from './live-views.js';

export type TerminalService = Pick<TerminalDesk, 'terminalSize' | 'watchTerminal' | 'takeControl' | 'releaseControl' | 'terminalInput' | 'resizeTerminal'>;

/** Unread bytes past which a watcher's watch is ended (it may watch again, from the scroll-back). */
export const WATCHER_BACKLOG_BYTES = 4 * 1024 * 1024;

type TerminalChannel = 'terminal.watch' | 'terminal.unwatch' | 'terminal.control' | 'terminal.input' | 'terminal.resize';

export function terminalHandlers(service: TerminalService, backlogLimit = WATCHER_BACKLOG_BYTES): Pick<SharedHandlers, TerminalChannel> {
  const views = new LiveViews({
    what: 'terminal',
    releaseControl: (task) => {
      try {
        service.releaseControl(task);
      } catch {
        // the session is over: nobody holds it any more
      }
    },
  });

  const watch: SharedHandlers['terminal.watch'] = (task, caller) => {
    const size = service.terminalSize(task);
    views.watch(task, caller, (ended) => service.watchTerminal(task, (data: Uint8Array) => {
      if ((caller.backlog?.() ?? 0) > backlogLimit) {
        // It does not keep up: its watch ends here (a note says so) rather than the engine holding more for it.
        views.dropWatch(task, caller);
        caller.push('terminal', { task, data: new Uint8Array(0), dropped: true });
        return;
      }
      caller.push('terminal', { task, data });
    }, () => {
      ended();
      caller.push('terminal', { task, data: new Uint8Array(0), ended: true });
    }));
    return size;
  };

  return {
    'terminal.watch': watch,
    'terminal.unwatch': (task, caller) => views.unwatch(task, caller),
    'terminal.control': ({ task, take }, caller) => views.control(task, take, caller,
      () => service.takeControl(task, caller.client === 'cli' ? 'cli' : 'app'), 'it gives control back first (Ctrl-] then d detaches the CLI)'),
    'terminal.input': ({ task, data }, caller) => {
      views.requireControl(task, caller);
      service.terminalInput(task, data);
    },
    'terminal.resize': async ({ task, cols, rows }, caller) => {
      views.requireControl(task, caller);
      await service.resizeTerminal(task, { cols, rows });
    },
  };
}
