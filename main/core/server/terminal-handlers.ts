/**
 * The interactive session's channels (`run -it`, the app's Terminal tab). A watch belongs to the
 * caller that asked: its bytes are pushed to that caller alone, until terminal.unwatch, the
 * session's end, or the caller's. A caller that falls too far behind (bytes it has not read piling
 * up) loses its watch with a note instead of making the engine hold more for it; the agent never
 * waits on a watcher. Control is held by one caller: keys and resizes from any other are refused,
 * and control is given back when that caller goes.
 */
import { AirlockError } from '../errors.js';
import type { TerminalDesk } from '../service/terminals.js';
import type { Caller } from './dispatch.js';
import type { SharedHandlers } from './engine-contract.js';

export type TerminalService = Pick<TerminalDesk, 'terminalSize' | 'watchTerminal' | 'takeControl' | 'releaseControl' | 'terminalInput' | 'resizeTerminal'>;

/** Unread bytes past which a watcher's watch is ended (it may watch again, from the scroll-back). */
export const WATCHER_BACKLOG_BYTES = 4 * 1024 * 1024;

type TerminalChannel = 'terminal.watch' | 'terminal.unwatch' | 'terminal.control' | 'terminal.input' | 'terminal.resize';

interface CallerState {
  watches: Map<string, () => void>;
  controls: Set<string>;
  undoGone: () => void;
}

export function terminalHandlers(service: TerminalService, backlogLimit = WATCHER_BACKLOG_BYTES): Pick<SharedHandlers, TerminalChannel> {
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
    try {
      service.releaseControl(task);
    } catch {
      // the session is over: nobody holds it any more
    }
  };
  const requireControl = (task: string, caller: Caller) => {
    if (controllers.get(task) !== caller) {
      throw new AirlockError('policy_refused', `the terminal of ${task} is view-only for this client`, 'take control first (it is recorded in the action log)');
    }
  };

  const watch: SharedHandlers['terminal.watch'] = (task, caller) => {
    const size = service.terminalSize(task);
    const state = stateOf(caller);
    state.watches.get(task)?.(); // watching again starts again, from the scroll-back
    state.watches.delete(task);
    let stop = (): void => undefined;
    const forget = () => {
      if (state.watches.get(task) === stop) state.watches.delete(task);
    };
    const onEnd = () => {
      forget();
      caller.push('terminal', { task, data: new Uint8Array(0), ended: true });
      if (controllers.get(task) === caller) {
        controllers.delete(task);
        state.controls.delete(task);
      }
      tidy(caller);
    };
    const onData = (data: Uint8Array) => {
      if ((caller.backlog?.() ?? 0) > backlogLimit) {
        // It does not keep up: its watch ends here (a note says so) rather than the engine holding more for it.
        stop();
        forget();
        caller.push('terminal', { task, data: new Uint8Array(0), dropped: true });
        tidy(caller);
        return;
      }
      caller.push('terminal', { task, data });
    };
    try {
      stop = service.watchTerminal(task, onData, onEnd);
    } catch (error) {
      tidy(caller);
      throw error;
    }
    state.watches.set(task, stop);
    return size;
  };

  const unwatch: SharedHandlers['terminal.unwatch'] = (task, caller) => {
    const state = states.get(caller);
    state?.watches.get(task)?.();
    state?.watches.delete(task);
    tidy(caller);
  };

  const control: SharedHandlers['terminal.control'] = ({ task, take }, caller) => {
    if (!take) {
      release(task, caller);
      tidy(caller);
      return;
    }
    const holder = controllers.get(task);
    if (holder === caller) return;
    if (holder) throw new AirlockError('policy_refused', `another client has control of the terminal of ${task}`, 'it gives control back first (Ctrl-] then d detaches the CLI)');
    service.takeControl(task, caller.client === 'cli' ? 'cli' : 'app');
    controllers.set(task, caller);
    stateOf(caller).controls.add(task);
  };

  return {
    'terminal.watch': watch,
    'terminal.unwatch': unwatch,
    'terminal.control': control,
    'terminal.input': ({ task, data }, caller) => {
      requireControl(task, caller);
      service.terminalInput(task, data);
    },
    'terminal.resize': async ({ task, cols, rows }, caller) => {
      requireControl(task, caller);
      await service.resizeTerminal(task, { cols, rows });
    },
  };
}
