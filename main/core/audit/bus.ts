import type { AirlockEvent, EventInput } from './events.js';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { Redactor, type RedactedSecret } from './redaction.js';

export type EventListener = (event: AirlockEvent) => void;

/** One bus per process: producers emit, the CLI/app/audit store listen. Sequence numbers are per task. */
export class EventBus {
  readonly #listeners = new Set<EventListener>();
  readonly #seq = new Map<string, number>();
  readonly #secrets = new Map<string, RedactedSecret[]>();
  readonly #redactors = new Map<string, Redactor>();
  readonly #lineage = new Map<string, { parent: string; chain: string[] }>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  emit(input: EventInput): AirlockEvent {
    const seq = (this.#seq.get(input.task) ?? 0) + 1;
    this.#seq.set(input.task, seq);
    const redactor = this.#redactors.get(input.task);
    const data = redactor ? redactor.redactData(input.data) : input.data;
    const lineage = this.#lineage.get(input.task);
    const event: AirlockEvent = { v: 1, seq, time: new Date(this.#clock.now()).toISOString(), ...lineage, ...input, data };
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

  /**
   * Secrets a task holds in the clear (env delivery): from now on they are cut out of every event
   * of the task — keys and values, as they are and in the encodings redaction.ts lists — before
   * anyone (a UI, the audit trail) sees it.
   */
  redact(task: string, secrets: RedactedSecret[]): void {
    const all = [...(this.#secrets.get(task) ?? []), ...secrets];
    this.#secrets.set(task, all);
    this.#redactors.set(task, new Redactor(all));
  }

  /** A delegated task: every one of its events names its parent and the whole chain above it. */
  setLineage(task: string, parent: string, chain: string[]): void {
    this.#lineage.set(task, { parent, chain });
  }

  /** Forget a finished task's counter (and redactions, lineage) so a long-lived app does not grow without bound. */
  release(task: string): void {
    this.#seq.delete(task);
    this.#secrets.delete(task);
    this.#redactors.delete(task);
    this.#lineage.delete(task);
  }
}
