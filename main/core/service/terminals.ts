/**
 * The interactive sessions of running tasks (`run -it`), as the service's clients see them: watch
 * (scroll-back, then every byte), take and give back control (logged), a controller's keys and
 * resizes. Who watches and who holds control per caller is server/terminal-handlers.ts.
 */
import type { TerminalClient, TerminalRegistry } from '../tasks/terminal-registry.js';
import type { TerminalSize } from '../tasks/spec.js';

export class TerminalDesk {
  readonly #registry: TerminalRegistry;

  constructor(registry: TerminalRegistry) {
    this.#registry = registry;
  }

  /** A running session's size; not_found when the task has none (not -it, or over). */
  terminalSize(task: string): TerminalSize {
    return this.#registry.get(task).size;
  }

  /** Scroll-back first, then every byte the agent writes, until the returned function is called or the session ends (`onEnd`). */
  watchTerminal(task: string, listener: (data: Uint8Array) => void, onEnd: () => void): () => void {
    return this.#registry.get(task).watch(listener, onEnd);
  }

  /** Someone takes control (logged as terminal.control); one holder at a time is the handlers' to keep. */
  takeControl(task: string, by: TerminalClient): void {
    this.#registry.takeControl(task, by);
  }

  releaseControl(task: string): void {
    this.#registry.releaseControl(task);
  }

  /** The controller's keys (bounded per call, per second and by what the agent has not read). */
  terminalInput(task: string, data: Uint8Array): void {
    this.#registry.get(task).input(data);
  }

  /** The controller's new window size: the agent's terminal follows (logged as terminal.resized). */
  async resizeTerminal(task: string, size: TerminalSize): Promise<void> {
    if (await this.#registry.get(task).resize(size)) this.#registry.record(task, 'terminal.resized', { cols: size.cols, rows: size.rows });
  }
}
