import path from 'node:path';
import type { AuditRecord } from './record.js';
import { parseRecord } from './record.js';
import { listSegments, readLines, readLinesBackward, type Segment } from './segments.js';
import { SEGMENTS_DIR } from './store.js';

export interface AuditQuery {
  task?: string;
  agent?: string;
  /** Exact kinds, or families such as `net.*`. */
  kinds?: string[];
  decision?: 'allow' | 'deny';
  /** ISO times, inclusive. */
  since?: string;
  until?: string;
  /** Case-insensitive substring of the record's JSON. */
  text?: string;
  order?: 'asc' | 'desc';
  /** From a previous page: continue after (asc) or before (desc) this record. */
  cursor?: string;
}

export interface AuditPage {
  records: AuditRecord[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  next?: string;
}

/**
 * Streams matching records in order (oldest or newest first) without loading the trail into
 * memory: segments are chosen by their names (first record, day), lines are pre-filtered as text
 * and only candidates are parsed.
 */
export async function* queryAuditTrail(dir: string, query: AuditQuery = {}): AsyncGenerator<AuditRecord> {
  const matches = matcher(query);
  const cursor = query.cursor === undefined ? undefined : Number(query.cursor);
  const segments = chooseSegments(await listSegments(path.join(dir, SEGMENTS_DIR)), query, cursor);
  for (const segment of segments) {
    const lines = query.order === 'desc' ? readLinesBackward(segment.path) : completeLines(segment.path);
    for await (const text of lines) {
      if (!matches.text(text)) continue;
      const record = parseRecord(text);
      if (!record) continue;
      if (cursor !== undefined && (query.order === 'desc' ? record.n >= cursor : record.n <= cursor)) continue;
      if (matches.record(record)) yield record;
    }
  }
}

export async function queryAuditPage(dir: string, query: AuditQuery, limit: number): Promise<AuditPage> {
  const records: AuditRecord[] = [];
  for await (const record of queryAuditTrail(dir, query)) {
    if (records.length === limit) return { records, next: String(records.at(-1)!.n) };
    records.push(record);
  }
  return { records };
}

async function* completeLines(file: string): AsyncGenerator<string> {
  for await (const line of readLines(file)) if (!line.torn) yield line.text;
}

function chooseSegments(all: Segment[], query: AuditQuery, cursor: number | undefined): Segment[] {
  const sinceDay = query.since?.slice(0, 10).replaceAll('-', '');
  const untilDay = query.until?.slice(0, 10).replaceAll('-', '');
  const chosen = all.filter((segment, i) => {
    const next = all[i + 1];
    // a segment holds records up to the next segment's first one
    if (cursor !== undefined && query.order !== 'desc' && next && next.firstN <= cursor) return false;
    if (cursor !== undefined && query.order === 'desc' && segment.firstN >= cursor) return false;
    if (sinceDay && next && next.day < sinceDay) return false;
    if (untilDay && segment.day > untilDay) return false;
    return true;
  });
  return query.order === 'desc' ? chosen.reverse() : chosen;
}

function matcher(query: AuditQuery) {
  const needles: string[] = [];
  if (query.task) needles.push(`"task":${JSON.stringify(query.task)}`);
  const text = query.text?.toLowerCase();
  const kinds = query.kinds?.map((k) => k.replace(/\*$/, ''));
  return {
    text: (line: string) => needles.every((n) => line.includes(n)) && (!text || line.toLowerCase().includes(text)),
    record: (r: AuditRecord) =>
      (!query.task || r.task === query.task)
      && (!query.agent || r.agent.name === query.agent)
      && (!kinds || kinds.some((k) => (k.endsWith('.') ? r.kind.startsWith(k) : r.kind === k)))
      && (!query.decision || (r.decision !== undefined && r.decision.allow === (query.decision === 'allow')))
      && (!query.since || r.time >= query.since)
      && (!query.until || r.time <= query.until),
  };
}
