import type { AgentRef } from '../audit/events.js';

/** A running task as the process's last-resort controls see it. */
export interface LiveTask {
  task: string;
  agent: AgentRef;
  /** Records a violation under `rule` and ends the task now (task.stopped with the reason). */
  stop(rule: string, reason: string): void;
  /** What its manifest says a violation does: a task with onViolation: freeze is frozen instead of stopped. */
  onViolation: 'log' | 'stop' | 'freeze';
  /** Records a violation under `rule` and freezes the task (paused, grants revoked) until a person acts. */
  freeze(rule: string, reason: string): void;
  /** Settles when the task is over and its sandbox is gone. */
  done: Promise<unknown>;
  /** A task with a project: stores what its agent has changed so far (a live change). */
  collectChange?: () => Promise<void>;
}

/**
 * Every task this process runs, for the controls that act on all of them at once: the audit trail
 * failing (tasks must not run unrecorded), and the last-resort handlers of an Airlock process that
 * hit an internal error. One per process, shared by every TaskRunner of it.
 */
export class LiveTasks {
  readonly #tasks = new Map<string, LiveTask>();

  add(task: LiveTask): () => void {
    this.#tasks.set(task.task, task);
    return () => this.#tasks.delete(task.task);
  }

  get(task: string): LiveTask | undefined {
    return this.#tasks.get(task);
  }

  list(): LiveTask[] {
    return [...this.#tasks.values()];
  }

  /**
   * Nothing runs unrecorded: when events cannot be made durable, every task is stopped — or frozen,
   * where its manifest says violations freeze it (a person can resume it once the trail is fixed).
   */
  haltAll(rule: string, reason: string): void {
    for (const task of this.#tasks.values()) {
      if (task.onViolation === 'freeze') task.freeze(rule, reason);
      else task.stop(rule, reason);
    }
  }

  /** Stops every task and waits (at most `waitMs`) until their sandboxes are gone. */
  async stopAll(rule: string, reason: string, waitMs: number): Promise<void> {
    const running = this.list();
    for (const task of running) task.stop(rule, reason);
    await Promise.race([Promise.allSettled(running.map((t) => t.done)), new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
  }
}

/** The audit trail failing halts every task of this process (see LiveTasks.haltAll). */
export function haltTasksWhenTrailFails(store: { onFailure(listener: (error: Error) => void): () => void }, live: LiveTasks): () => void {
  return store.onFailure((error) => live.haltAll('audit.unwritable', `${error.message}: tasks must not run unrecorded`));
}
