/**
 * The interactive sessions of running tasks, by task id, and who may type into each. A session is
 * opened when its task is started (so the client that started it can take control at once) and
 * removed when the task ends. Taking and giving back control are `terminal.control` events in
 * the task's action log; input from anyone but the holder is refused before it gets here.
 */
import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { AirlockError } from '../errors.js';
import type { TerminalSize } from './spec.js';
import { TaskTerminal } from './task-terminal.js';

/** Which kind of client holds control: the CLI that runs the session, or the app's Terminal tab. */
export type TerminalClient = 'cli' | 'app';

interface Entry {
  terminal: TaskTerminal;
  agent: AgentRef;
  controller: TerminalClient | undefined;
}

export class TerminalRegistry {
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #changeListeners = new Set<() => void>();

  constructor(bus: EventBus, clock: Clock) {
    this.#bus = bus;
    this.#clock = clock;
  }

  /** Opens a task's session; closing it (the returned function) ends it and any control. */
  open(task: string, agent: AgentRef, size: TerminalSize): { terminal: TaskTerminal; close: () => void } {
    if (this.#entries.has(task)) throw new AirlockError('internal', `task ${task} has a terminal already`);
    const terminal = new TaskTerminal(task, size, this.#clock);
    this.#entries.set(task, { terminal, agent, controller: undefined });
    this.#changed();
    return {
      terminal,
      close: () => {
        const entry = this.#entries.get(task);
        if (entry?.terminal !== terminal) return;
        this.#entries.delete(task);
        terminal.end();
        if (entry.controller) this.#emitControl(task, entry, false, entry.controller, 'the task ended');
        this.#changed();
      },
    };
  }

  get(task: string): TaskTerminal {
    const entry = this.#entries.get(task);
    if (!entry) throw new AirlockError('not_found', `task ${task} has no terminal here`, 'only tasks started with -it (an interactive session) have one, while they run');
    return entry.terminal;
  }

  has(task: string): boolean {
    return this.#entries.has(task);
  }

  controller(task: string): TerminalClient | undefined {
    return this.#entries.get(task)?.controller;
  }

  /** Emits a record of the task (its size, a resize, its end) as Airlock. */
  record(task: string, kind: 'terminal.started' | 'terminal.resized' | 'terminal.ended', data: Record<string, unknown>): void {
    const entry = this.#entries.get(task);
    if (!entry) return;
    this.#bus.emit({ task, agent: entry.agent, actor: kind === 'terminal.resized' ? 'user' : 'airlock', kind, data });
    if (kind === 'terminal.resized') this.#changed(); // the task list shows the size
  }

  /** Someone takes control: their keys reach the agent from now on. Logged. */
  takeControl(task: string, by: TerminalClient): void {
    const entry = this.#entries.get(task);
    if (!entry) throw new AirlockError('not_found', `task ${task} has no terminal here`);
    if (entry.controller) return;
    entry.controller = by;
    this.#emitControl(task, entry, true, by);
    this.#changed();
  }

  /** Back to view-only (logged); nothing to do when nobody has control. */
  releaseControl(task: string): void {
    const entry = this.#entries.get(task);
    if (!entry?.controller) return;
    const by = entry.controller;
    entry.controller = undefined;
    this.#emitControl(task, entry, false, by);
    this.#changed();
  }

  /** Called when a session opens or closes or control changes hands. */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  #emitControl(task: string, entry: Entry, taken: boolean, by: TerminalClient, reason?: string): void {
    this.#bus.emit({ task, agent: entry.agent, actor: 'user', kind: 'terminal.control', data: { taken, by, ...(reason ? { reason } : {}) } });
  }

  #changed(): void {
    for (const listener of [...this.#changeListeners]) listener();
  }
}
