/**
 * The page that made a call: it has its own engine connection (engine-link.ts), and the engine's
 * pushes on that connection go to it — the service's to every page, a few to the page that asked
 * for them (the frames of a screen it watches) and to no other, for as long as that page is there.
 */
import type { WebContents } from 'electron';
import type { Caller } from '../core/server/dispatch.js';
import { pushChannel } from '../../preload/contract.js';

export type { Caller };

type Contents = Pick<WebContents, 'send' | 'isDestroyed' | 'on'>;

const callers = new WeakMap<Contents, Caller>();

/** The one Caller of a web contents (the same object for every call from it). */
export function callerOf(contents: Contents): Caller {
  let caller = callers.get(contents);
  if (!caller) {
    caller = contentsCaller(contents);
    callers.set(contents, caller);
  }
  return caller;
}

function contentsCaller(contents: Contents): Caller {
  const listeners = new Set<() => void>();
  const gone = () => {
    const pending = [...listeners];
    listeners.clear();
    for (const listener of pending) {
      try {
        listener();
      } catch {
        // one failing clean-up must not keep the others from running
      }
    }
  };
  contents.on('destroyed', gone);
  contents.on('render-process-gone', gone);
  // A new document in the main frame (a reload, a navigation); in-page (hash) navigations are routing.
  contents.on('did-start-navigation', (details) => {
    if (details.isMainFrame && !details.isSameDocument) gone();
  });
  return {
    push(topic, payload) {
      if (!contents.isDestroyed()) contents.send(pushChannel(topic), payload);
    },
    onGone(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
