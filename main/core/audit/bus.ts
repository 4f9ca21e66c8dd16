import type { AirlockEvent, EventInput } from './events.js';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';

export type EventListener = (event: AirlockEvent) => void;

/** One bus per process: producers emit, the CLI/app/audit store listen. Sequence numbers are per task. */
export class EventBus {
  readonly #listeners = new Set<EventListener>();
  readonly #seq = new Map<string, number>();
  readonly #redactions = new Map<string, [RegExp, string][]>();
  readonly #lineage = new Map<string, { parent: string; chain: string[] }>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  emit(input: EventInput): AirlockEvent {
    const seq = (this.#seq.get(input.task) ?? 0) + 1;
    this.#seq.set(input.task, seq);
    const rules = this.#redactions.get(input.task);
    const data = rules ? (redactValue(input.data, rules) as Record<string, unknown>) : input.data;
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
   * Secrets a task holds in the clear (env delivery): from now on they are replaced in every event
   * of the task — as they are, base64 (both alphabets) and URL-encoded — before anyone sees it.
   */
  redact(task: string, secrets: { value: string; label: string }[]): void {
    const rules: [RegExp, string][] = [];
    for (const { value, label } of secrets) {
      if (value.length < 4) continue;
      const buffer = Buffer.from(value);
      const forms = new Set([value, buffer.toString('base64'), buffer.toString('base64').replace(/=+$/, ''), buffer.toString('base64url'), encodeURIComponent(value)]);
      for (const form of forms) rules.push([new RegExp(form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), `[redacted:${label}]`]);
    }
    this.#redactions.set(task, [...(this.#redactions.get(task) ?? []), ...rules]);
  }

  /** A delegated task: every one of its events names its parent and the whole chain above it. */
  setLineage(task: string, parent: string, chain: string[]): void {
    this.#lineage.set(task, { parent, chain });
  }

  /** Forget a finished task's counter (and redactions, lineage) so a long-lived app does not grow without bound. */
  release(task: string): void {
    this.#seq.delete(task);
    this.#redactions.delete(task);
    this.#lineage.delete(task);
  }
}

function redactValue(value: unknown, rules: [RegExp, string][]): unknown {
  if (typeof value === 'string') return rules.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, rules));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, rules)]));
  return value;
}
