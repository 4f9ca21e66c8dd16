import type { AuditRecord } from './record.js';
import { queryAuditTrail, type AuditQuery } from './query.js';

export type ExportFormat = 'jsonl' | 'csv';

const CSV_COLUMNS = ['n', 'time', 'task', 'parent', 'agent', 'agent_digest', 'actor', 'kind', 'decision', 'rule', 'decided_by', 'grant', 'credential', 'data', 'hash', 'prev'] as const;

/** Writes matching records, oldest first, for a security team: every record as stored, or a flat CSV. */
export async function exportAuditTrail(dir: string, format: ExportFormat, query: AuditQuery, write: (chunk: string) => Promise<void> | void): Promise<number> {
  let count = 0;
  if (format === 'csv') await write(exportHeader(format));
  for await (const record of queryAuditTrail(dir, { ...query, order: 'asc' })) {
    await write(exportLine(record, format));
    count += 1;
  }
  return count;
}

/** What an export starts with: the CSV's column names, nothing for JSON lines. */
export function exportHeader(format: ExportFormat): string {
  return format === 'csv' ? `${CSV_COLUMNS.join(',')}\n` : '';
}

/** One record as an export's line (records read elsewhere, e.g. a client's audit.query pages, come out the same). */
export function exportLine(record: AuditRecord, format: ExportFormat): string {
  return format === 'csv' ? `${csvRow(record)}\n` : `${JSON.stringify(record)}\n`;
}

function csvRow(r: AuditRecord): string {
  const cells = [
    r.n, r.time, r.task, r.parent ?? '', r.agent.name, r.agent.digest, r.actor, r.kind,
    r.decision ? (r.decision.allow ? 'allow' : 'deny') : '', r.decision?.rule ?? '', r.decision?.by ?? '',
    r.identity?.grant ?? '', r.identity?.credential ?? '', JSON.stringify(r.data), r.hash, r.prev,
  ];
  return cells.map((c) => csvCell(String(c))).join(',');
}

/** RFC 4180 quoting, and a leading ' on cells a spreadsheet would run as a formula. */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
