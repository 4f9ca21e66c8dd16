import fs from 'node:fs';
import path from 'node:path';
import type { AirlockEvent } from './events.js';

/**
 * Keeps every event as one JSON line in AIRLOCK_HOME/events/<day>.jsonl. A plain interim record:
 * the hash-chained audit store (audit issue) replaces it.
 */
export class EventFileSink {
  readonly #dir: string;
  #ready = false;

  constructor(dir: string) {
    this.#dir = dir;
  }

  append(event: AirlockEvent): void {
    if (!this.#ready) {
      fs.mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      this.#ready = true;
    }
    fs.appendFileSync(path.join(this.#dir, `${event.time.slice(0, 10)}.jsonl`), `${JSON.stringify(event)}\n`, { mode: 0o600 });
  }
}
