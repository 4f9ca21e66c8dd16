import type { AirlockEvent, EventInput } from './events.js';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';

export type EventListener = (event: AirlockEvent) => void;

/** One bus per process: producers emit, the CLI/app/audit store listen. Sequence numbers are per task. */
export class EventBus {
  readonly #listeners = new Set<EventListener>();
  readonly #seq = new Map<string, number>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  emit(input: EventInput): AirlockEvent {
    const seq = (this.#seq.get(input.task) ?? 0) + 1;
    this.#seq.set(input.task, seq);
    const event: AirlockEvent = { v: 1, seq, time: new Date(this.#clock.now()).toISOString(), ...input };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener (a closed pipe, a renderer gone away) must not stop the task or the others.
      }
    }
    return event;
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forget a finished task's counter so a long-lived app does not grow without bound. */
  release(task: string): void {
    this.#seq.delete(task);
  }
}
