/**
 * A forwarder's filter, and the batch it makes of the trail: the records it keeps go as they are;
 * consecutive records it leaves out go as one `skipped` item (from, to, count, prev, lastHash) that
 * a continuity check links like a record. The trail's own records (`audit.*`: retention, tampering,
 * hand-overs, forwarders) always go: a verifier needs them to explain gaps and key changes.
 */
import type { AuditRecord } from '../audit/record.js';
import type { StoredRecord } from './reader.js';
import type { ForwarderFilter, ForwardItem } from './types.js';

export interface BatchLimits {
  /** Items per batch. */
  maxItems: number;
  /** Bytes of stored lines per batch; one record larger than this goes alone. */
  maxBytes: number;
  /** Records looked at per batch (left-out ones included), so a filter that keeps little still ends a batch. */
  maxScanned: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxItems: 500, maxBytes: 1024 * 1024, maxScanned: 50_000 };

/** A batch read from the trail, before it is marked for redelivery and sent. */
export interface PendingBatch {
  items: ForwardItem[];
  /** The last record the batch covers (kept or left out): the cursor moves here once it is acknowledged. */
  last: { n: number; hash: string; time: string };
  /** When the first record it covers was written (for the lag). */
  firstTime: string;
}

export function keeps(filter: ForwarderFilter | undefined, record: AuditRecord): boolean {
  if (!filter || record.kind.startsWith('audit.')) return true;
  if (filter.kinds && !filter.kinds.some((kind) => (kind.endsWith('.*') ? record.kind.startsWith(kind.slice(0, -1)) : record.kind === kind))) return false;
  if (filter.decisions && !(record.decision && filter.decisions.includes(record.decision.allow ? 'allow' : 'deny'))) return false;
  if (filter.agents && !filter.agents.includes(record.agent?.name)) return false;
  return true;
}

type Skipped = Extract<ForwardItem, { type: 'skipped' }>;

/** Reads records into one bounded batch; undefined when there is nothing to send. */
export async function collectBatch(records: AsyncIterable<StoredRecord>, filter: ForwarderFilter | undefined, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Promise<PendingBatch | undefined> {
  const items: ForwardItem[] = [];
  let skipped: Skipped | undefined;
  let bytes = 0;
  let scanned = 0;
  let last: PendingBatch['last'] | undefined;
  let firstTime: string | undefined;
  for await (const { record, line } of records) {
    const kept = keeps(filter, record);
    // Not taken past a bound: the next batch starts with it (the reader finds it again without a re-read).
    if (kept && items.length > 0 && bytes + Buffer.byteLength(line) > limits.maxBytes) break;
    firstTime ??= record.time;
    scanned += 1;
    if (kept) {
      skipped = undefined;
      items.push({ type: 'record', record, line, redelivery: false });
      bytes += Buffer.byteLength(line);
    } else if (skipped && skipped.to + 1 === record.n) {
      skipped.to = record.n;
      skipped.count += 1;
      skipped.lastHash = record.hash;
    } else {
      // A gap in n (retention removed records) ends a range: each range is contiguous.
      skipped = { type: 'skipped', from: record.n, to: record.n, count: 1, prev: record.prev, lastHash: record.hash, redelivery: false };
      items.push(skipped);
      bytes += 200;
    }
    last = { n: record.n, hash: record.hash, time: record.time };
    if (items.length >= limits.maxItems || bytes >= limits.maxBytes || scanned >= limits.maxScanned) break;
  }
  if (!last || !firstTime) return undefined;
  return { items, last, firstTime };
}
