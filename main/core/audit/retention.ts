import fs from 'node:fs';
import path from 'node:path';
import type { AuditStore } from './store.js';
import { SEGMENTS_DIR } from './store.js';
import { listSegments, readLines } from './segments.js';
import { parseRecord } from './record.js';
import { airlockRecord } from './account.js';

export interface PruneResult {
  removedSegments: string[];
  removedRecords: number;
  /** Segments old enough to go, kept because they hold records from `keepFrom` on (not yet forwarded). */
  heldSegments: string[];
}

export interface PruneOptions {
  /** Never remove a segment holding this record or a later one (the oldest record a forwarder's collector has not acknowledged). */
  keepFrom?: number;
}

/**
 * Removes whole segments older than `keepDays` (never the newest). The chain first records what
 * will go — the segments, the record range, the first kept record and the hash it chains to — in a
 * record a signed head covers, and only then deletes, so a crash in between leaves an explained
 * gap, never an unexplained one, and `verify` still passes. A gap no signed retention record
 * explains is tampering.
 */
export async function pruneAuditTrail(store: AuditStore, keepDays: number, now: Date = new Date(), options: PruneOptions = {}): Promise<PruneResult> {
  const cutoffDay = new Date(now.getTime() - keepDays * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  const segments = await listSegments(path.join(store.dir, SEGMENTS_DIR));
  const old: typeof segments = [];
  const heldSegments: string[] = [];
  for (const [i, segment] of segments.slice(0, -1).entries()) {
    if (segment.day >= cutoffDay) break;
    // A segment holds records up to the next one's first: any of them from keepFrom on keeps it, and every later one.
    if (options.keepFrom !== undefined && segments[i + 1]!.firstN > options.keepFrom) {
      heldSegments.push(...segments.slice(i, -1).filter((s) => s.day < cutoffDay).map((s) => s.name));
      break;
    }
    old.push(segment);
  }
  const firstKept = segments[old.length];
  if (old.length === 0 || !firstKept) return { removedSegments: [], removedRecords: 0, heldSegments };
  let prev: string | undefined;
  for await (const line of readLines(firstKept.path)) {
    prev = parseRecord(line.text)?.prev;
    break;
  }
  if (!prev) return { removedSegments: [], removedRecords: 0, heldSegments };
  const removedRecords = firstKept.firstN - old[0]!.firstN;
  // What goes: the segments, the record range and the hash of its last record (the link the first
  // kept record chains to). flush() makes it durable and signs a head over it before a file goes.
  store.append(airlockRecord(now.toISOString(), 'audit.retention', {
    keepDays,
    removedSegments: old.map((s) => s.name),
    removedRecords: { from: old[0]!.firstN, to: firstKept.firstN - 1, lastHash: prev },
    firstKept: { n: firstKept.firstN, prev },
  }));
  await store.flush();
  for (const segment of old) await fs.promises.rm(segment.path, { force: true });
  return { removedSegments: old.map((s) => s.name), removedRecords, heldSegments };
}
