import { createHash } from 'node:crypto';

/** The most of a call's arguments an `mcp.call` event keeps. */
export const MAX_RECORDED_ARGUMENTS = 4 * 1024;

/** Keys whose values are secrets whatever they hold. */
const SECRET_KEY = /token|secret|passw(or)?d|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key/i;

/**
 * A call's arguments as the log keeps them: values under secret-looking keys replaced, as JSON
 * text cut to MAX_RECORDED_ARGUMENTS (the task's lent secrets are redacted by the bus as well).
 */
export function recordedArguments(args: unknown): string {
  const text = JSON.stringify(args ?? {}, (key, value: unknown) => (key !== '' && SECRET_KEY.test(key) && value !== null && typeof value !== 'object' ? '[redacted]' : value));
  return text.length > MAX_RECORDED_ARGUMENTS ? `${text.slice(0, MAX_RECORDED_ARGUMENTS)}…` : text;
}

/**
 * Counts identical tool calls (server, tool, arguments) of one task: the same call more than
 * `maxRepeats` times is a loop. Says so once per call shape; keeps at most `maxShapes` shapes.
 */
export class LoopWatch {
  readonly #maxRepeats: number;
  readonly #counts = new Map<string, number>();
  readonly #maxShapes: number;

  constructor(maxRepeats: number, maxShapes = 10_000) {
    this.#maxRepeats = maxRepeats;
    this.#maxShapes = maxShapes;
  }

  /** Counts a call; true the first time it is repeated more than maxRepeats times. */
  count(server: string, tool: string, argumentsText: string): boolean {
    const key = createHash('sha256').update(`${server}\0${tool}\0${argumentsText}`).digest('hex');
    const count = (this.#counts.get(key) ?? 0) + 1;
    if (this.#counts.size >= this.#maxShapes && !this.#counts.has(key)) this.#counts.delete(this.#counts.keys().next().value!);
    this.#counts.set(key, count);
    return count === this.#maxRepeats + 1;
  }
}
