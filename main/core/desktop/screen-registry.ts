import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import { AirlockError } from '../errors.js';
import type { LiveScreen, ScreenFrame, ScreenInput } from './types.js';

interface Entry {
  screen: LiveScreen;
  agent: AgentRef;
  /** Why nobody may take control here (a task another process runs), if so. */
  viewOnly: string | undefined;
  /** Who holds control, when a person has taken it. */
  controller: string | undefined;
}

/**
 * The live screens of running display tasks, by task id. The runner adds a task's screen when its
 * desktop is up and removes it when the task ends; the app watches them. Views are view-only:
 * input reaches a screen only after a person took control, and taking and giving back control
 * are `screen.control` events in the task's action log.
 */
export class ScreenRegistry {
  readonly #bus: EventBus;
  readonly #screens = new Map<string, Entry>();
  readonly #changeListeners = new Set<() => void>();

  constructor(bus: EventBus) {
    this.#bus = bus;
  }

  /**
   * Registers a task's screen; the returned function removes it (and ends any control). With
   * `viewOnly`, taking control is refused with that reason.
   */
  add(task: string, agent: AgentRef, screen: LiveScreen, options: { viewOnly?: string } = {}): () => void {
    this.#screens.set(task, { screen, agent, controller: undefined, viewOnly: options.viewOnly });
    this.#changed();
    return () => {
      const entry = this.#screens.get(task);
      if (entry?.screen !== screen) return;
      if (entry.controller) this.#emitControl(task, entry, false, entry.controller, 'the task ended');
      this.#screens.delete(task);
      this.#changed();
    };
  }

  has(task: string): boolean {
    return this.#screens.has(task);
  }

  /** Size of a task's live screen, or undefined when it has none (not a display task, or ended). */
  size(task: string): { width: number; height: number } | undefined {
    const entry = this.#screens.get(task);
    return entry ? { width: entry.screen.width, height: entry.screen.height } : undefined;
  }

  /** Watches a task's screen: the first frame is the whole screen, then changed regions. */
  watch(task: string, listener: (frame: ScreenFrame) => void): () => void {
    return this.#get(task).screen.watch(listener);
  }

  controller(task: string): string | undefined {
    return this.#screens.get(task)?.controller;
  }

  /** A person takes control: from now on their input reaches the screen. Logged. */
  takeControl(task: string, who = 'user'): void {
    const entry = this.#get(task);
    if (entry.viewOnly) throw new AirlockError('policy_refused', `the screen of ${task} can be watched here, not controlled: ${entry.viewOnly}`);
    if (entry.controller) return;
    entry.controller = who;
    this.#emitControl(task, entry, true, who, 'taken from the app');
    this.#changed();
  }

  /** Back to view-only. Logged. */
  releaseControl(task: string): void {
    const entry = this.#screens.get(task);
    if (!entry?.controller) return;
    const who = entry.controller;
    entry.controller = undefined;
    this.#emitControl(task, entry, false, who, 'given back');
    this.#changed();
  }

  /** Input from the person in control; refused while the view is view-only. */
  input(task: string, event: ScreenInput): void {
    const entry = this.#get(task);
    if (!entry.controller) {
      throw new AirlockError('policy_refused', `the screen of ${task} is view-only`, 'take control first (it is recorded in the action log)');
    }
    entry.screen.input(event);
  }

  /** Called when a screen is added or removed or control changes hands. */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  #get(task: string): Entry {
    const entry = this.#screens.get(task);
    if (!entry) throw new AirlockError('not_found', `task ${task} has no live screen`, 'only running tasks whose manifest has display: show a screen');
    return entry;
  }

  #emitControl(task: string, entry: Entry, taken: boolean, who: string, reason: string): void {
    this.#bus.emit({ task, agent: entry.agent, actor: 'user', kind: 'screen.control', data: { control: taken ? 'taken' : 'released', by: who, reason } });
  }

  #changed(): void {
    for (const listener of this.#changeListeners) listener();
  }
}
