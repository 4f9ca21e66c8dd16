/**
 * What a task has made so far, to be undone in reverse order. Each phase of a task's start
 * registers its undo as soon as the thing exists, so whichever step fails — and on every other
 * exit — exactly what was made is taken down, newest first. A failing undo does not stop the ones
 * after it; the first error is reported once all have run.
 */
export class Teardown {
  readonly #steps: { name: string; undo: () => Promise<void> | void }[] = [];
  #done = false;

  /** Registers an undo (runs once, in reverse order of registration). */
  add(name: string, undo: () => Promise<void> | void): void {
    if (this.#done) throw new Error(`teardown already ran: cannot add ${name}`);
    this.#steps.push({ name, undo });
  }

  /** The names of the steps registered so far, oldest first (for tests and diagnostics). */
  get names(): string[] {
    return this.#steps.map((s) => s.name);
  }

  /** Runs every undo, newest first; returns the errors of those that failed. */
  async run(): Promise<{ name: string; error: unknown }[]> {
    if (this.#done) return [];
    this.#done = true;
    const failed: { name: string; error: unknown }[] = [];
    for (const step of this.#steps.reverse()) {
      try {
        await step.undo();
      } catch (error) {
        failed.push({ name: step.name, error });
      }
    }
    return failed;
  }
}
