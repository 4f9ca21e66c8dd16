import type { Clock } from '../clock.js';

/**
 * Compressed request bodies a task may have held in Airlock at once while they are checked (each
 * at most 8 MiB): without a total, 128 connections would be a gigabyte.
 */
export const MAX_HELD_BODY_BYTES = 16 * 1024 * 1024;

/** Upgraded (WebSocket) streams a task may have open at once: each holds two connections and up to a message. */
export const MAX_UPGRADED_STREAMS = 16;

/** A task's request rate (sliding minute) and byte budget (both directions, whole task). */
export class TaskLimits {
  readonly #clock: Clock;
  readonly #requestsPerMinute: number | undefined;
  readonly #byteBudget: number | undefined;
  readonly #recent: number[] = [];
  #bytes = 0;
  #heldBodyBytes = 0;
  #upgradedStreams = 0;

  constructor(clock: Clock, rate: { requestsPerMinute?: number; bytes?: number }) {
    this.#clock = clock;
    this.#requestsPerMinute = rate.requestsPerMinute;
    this.#byteBudget = rate.bytes;
  }

  /** Counts a request; returns the limit it breaks, if any (and then does not count it). */
  admitRequest(): string | undefined {
    if (this.#byteBudget !== undefined && this.#bytes >= this.#byteBudget) return `rate.bytes: the task has used its budget of ${this.#byteBudget} bytes`;
    if (this.#requestsPerMinute === undefined) return undefined;
    const now = this.#clock.now();
    while (this.#recent.length > 0 && this.#recent[0]! <= now - 60_000) this.#recent.shift();
    if (this.#recent.length >= this.#requestsPerMinute) return `rate.requestsPerMinute: more than ${this.#requestsPerMinute} requests in a minute`;
    this.#recent.push(now);
    return undefined;
  }

  /** Counts bytes moved; returns the limit it breaks once the budget is used up. */
  addBytes(count: number): string | undefined {
    this.#bytes += count;
    if (this.#byteBudget !== undefined && this.#bytes > this.#byteBudget) return `rate.bytes: the task has used its budget of ${this.#byteBudget} bytes`;
    return undefined;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Takes `bytes` of the held-body allowance; false when that would pass MAX_HELD_BODY_BYTES. */
  holdBody(bytes: number): boolean {
    if (this.#heldBodyBytes + bytes > MAX_HELD_BODY_BYTES) return false;
    this.#heldBodyBytes += bytes;
    return true;
  }

  releaseBody(bytes: number): void {
    this.#heldBodyBytes = Math.max(0, this.#heldBodyBytes - bytes);
  }

  /** Whether another upgraded stream may open: the limit it breaks, if any. */
  streamLimit(): string | undefined {
    return this.#upgradedStreams >= MAX_UPGRADED_STREAMS ? `rate.streams: the task already has ${MAX_UPGRADED_STREAMS} WebSocket streams open` : undefined;
  }

  /** An upgraded stream opened; the returned function closes it (once). */
  openStream(): () => void {
    this.#upgradedStreams += 1;
    let open = true;
    return () => {
      if (open) this.#upgradedStreams -= 1;
      open = false;
    };
  }
}
