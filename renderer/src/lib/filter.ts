/**
 * The log's filters (kind family, decision, text) as an index of matching positions, extended as
 * events arrive instead of recomputed: at 5,000 events a second only the new ones are checked.
 */
import type { WireEvent } from '../../../preload/contract';
import type { EventLog } from './event-log';
import { familyOf, summarize } from './summary';

export interface LogFilter {
  family: string; // '' = every kind
  decision: '' | 'allow' | 'deny';
  text: string;
}

export const NO_FILTER: LogFilter = { family: '', decision: '', text: '' };

export function isFiltering(filter: LogFilter): boolean {
  return filter.family !== '' || filter.decision !== '' || filter.text.trim() !== '';
}

export function matches(event: WireEvent, filter: LogFilter, needle: string): boolean {
  if (filter.family && familyOf(event.kind) !== filter.family) return false;
  if (filter.decision) {
    if (!event.decision || event.decision.allow !== (filter.decision === 'allow')) return false;
  }
  if (needle) {
    if (event.kind.includes(needle)) return true;
    return summarize(event).text.toLowerCase().includes(needle);
  }
  return true;
}

/** Positions of matching events in `log.events`; call update() before reading. */
export class FilteredView {
  #log: EventLog | undefined;
  #key = '';
  #epoch = -1;
  #scanned = 0;
  indices: number[] = [];

  update(log: EventLog, filter: LogFilter): void {
    const key = JSON.stringify(filter);
    if (log !== this.#log || key !== this.#key || log.epoch !== this.#epoch) {
      this.#log = log;
      this.#key = key;
      this.#epoch = log.epoch;
      this.#scanned = 0;
      this.indices = [];
    }
    const needle = filter.text.trim().toLowerCase();
    const events = log.events;
    for (let i = this.#scanned; i < events.length; i++) if (matches(events[i]!, filter, needle)) this.indices.push(i);
    this.#scanned = events.length;
  }
}
