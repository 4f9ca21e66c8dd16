/**
 * The short human line a collector shows for a record (OTLP's string body, OCSF's `message`): the
 * kind and the record's main data fields, bounded. The exact record travels beside it.
 */
import type { AuditRecord } from '../audit/record.js';
import type { ForwardItem } from './types.js';

const MAX_FIELDS = 6;
const MAX_VALUE = 80;
const MAX_SUMMARY = 300;

function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

export function recordSummary(record: AuditRecord): string {
  const parts = [String(record.kind)];
  const data = record.data !== null && typeof record.data === 'object' ? record.data : {};
  let fields = 0;
  for (const [key, value] of Object.entries(data)) {
    if (fields >= MAX_FIELDS) break;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    parts.push(`${clip(key, 40)}=${clip(JSON.stringify(value), MAX_VALUE)}`);
    fields += 1;
  }
  const decision = record.decision as { allow?: unknown; rule?: unknown } | undefined;
  if (typeof decision?.allow === 'boolean') parts.push(decision.allow ? 'allowed' : `denied${typeof decision.rule === 'string' ? ` by ${clip(decision.rule, MAX_VALUE)}` : ''}`);
  return clip(parts.join(' '), MAX_SUMMARY);
}

export function itemSummary(item: ForwardItem): string {
  if (item.type === 'record') return recordSummary(item.record);
  if (item.type === 'skipped') return `records ${item.from}..${item.to} (${item.count}) left out by this forwarder's filter`;
  return `signed head: the trail up to record ${item.signed.head.n} (${item.signed.head.hash})`;
}
