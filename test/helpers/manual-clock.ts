import type { Clock } from '../../main/core/clock.js';

/** A clock that moves only when told to: advance() runs the timers that fall due, in order. */
export class ManualClock implements Clock {
  #now = 1_000_000;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #next = 0;

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const id = this.#next++;
    this.#timers.push({ at: this.#now + ms, fn, id });
    return { cancel: () => (this.#timers = this.#timers.filter((t) => t.id !== id)) };
  }

  /** Moves time forward, running each due timer and letting the promises it starts settle. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      const due = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.fn();
    }
    this.#now = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
