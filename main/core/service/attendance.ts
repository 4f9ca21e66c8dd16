/**
 * Who is there to answer an "ask" now. A client says it answers (`approvals.attend`): an app
 * window for every task, a CLI at a terminal for its own run (its task and the tasks under it). It
 * answers for as long as it is connected. An ask of a task nobody answers for is denied at once
 * (gateway/approvals.ts), rather than left waiting out its time with nobody to see it: a detached
 * run, or an engine with no app window and no terminal.
 */
import type { EventBus } from '../audit/bus.js';

/** What a client answers for: every task, or one task and its descendants. */
export type AttendScope = { task?: string };

/** Tasks whose chain is remembered at most (a task's is forgotten when it is destroyed). */
const MAX_CHAINS = 10_000;

export class Attendance {
  /** One entry per attending client: undefined = every task. */
  readonly #attendants = new Map<symbol, string | undefined>();
  /** Each live task's ancestors (root first), from its events: a child's ask is its run's. */
  readonly #chains = new Map<string, readonly string[]>();

  constructor(bus: EventBus) {
    bus.subscribe((event) => {
      if (event.kind === 'task.destroyed') this.#chains.delete(event.task);
      // Airlock's own record of the task's start, once: nothing later (nor anything the agent sends) moves it.
      else if (event.kind === 'task.created' && event.actor === 'airlock' && !this.#chains.has(event.task)) {
        if (this.#chains.size >= MAX_CHAINS) this.#chains.delete(this.#chains.keys().next().value!);
        this.#chains.set(event.task, [...(event.chain ?? [])]);
      }
    });
  }

  /** A client answers asks of `scope` until the returned undo is called (it went away). */
  attend(scope: AttendScope): () => void {
    const key = Symbol('attendant');
    this.#attendants.set(key, scope.task);
    return () => this.#attendants.delete(key);
  }

  /** Whether some connected client answers asks of `task`. */
  covers(task: string): boolean {
    const chain = this.#chains.get(task) ?? [];
    for (const root of this.#attendants.values()) {
      if (root === undefined || root === task || chain.includes(root)) return true;
    }
    return false;
  }
}
