/**
 * Reads the trail for a forwarder: the stored lines (exact text) after a record, from the segments
 * on disk, and never past the signed head. A record no signed head vouches for may yet be set aside
 * as torn or tampered (audit/account.ts), so it is never forwarded.
 */
import path from 'node:path';
import { readHead, readSignedHead, type Head, type HeadVerifier, type SignedHead } from '../audit/head.js';
import { parseRecord, type AuditRecord } from '../audit/record.js';
import { listSegments, readLines, type Segment } from '../audit/segments.js';
import { SEGMENTS_DIR } from '../audit/store.js';

export interface StoredRecord {
  record: AuditRecord;
  /** The line exactly as stored, without its newline. */
  line: string;
}

/** The head as signed (head.json's object), once its signature checked out. */
export type VouchedHead = { state: 'valid'; head: Head; signed: SignedHead } | { state: 'absent' } | { state: 'invalid' };

/** The last record read (its line's offset), so the next batch does not re-read its segment from the start. */
interface Position {
  segment: string;
  offset: number;
  n: number;
}

export class TrailReader {
  readonly #dir: string;
  readonly #verifier: HeadVerifier;
  #position: Position | undefined;

  constructor(auditDir: string, verifier: HeadVerifier) {
    this.#dir = auditDir;
    this.#verifier = verifier;
  }

  /** head.json, if its signature is this machine's key's. */
  async head(): Promise<VouchedHead> {
    const state = await readSignedHead(this.#dir, this.#verifier);
    if (state.state !== 'valid') return state;
    const signed = await readHead(this.#dir).catch(() => undefined);
    // Re-read: a writer may have replaced it in between; only the one that checks out counts.
    if (!signed || !this.#verifier.verify(signed)) return { state: 'invalid' };
    return { state: 'valid', head: signed.head, signed };
  }

  /**
   * The records after `afterN` up to `throughN` (the signed head's), in order. A line that is not
   * a record, or is torn, is passed over: the collector's continuity check sees the gap it leaves.
   */
  async *after(afterN: number, throughN: number): AsyncGenerator<StoredRecord> {
    if (throughN <= afterN) return;
    const segments = await listSegments(path.join(this.#dir, SEGMENTS_DIR));
    let index = segments.findLastIndex((segment) => segment.firstN <= afterN + 1);
    if (index === -1) index = 0; // removed by retention: from the oldest kept
    for (let i = index; i < segments.length; i++) {
      const segment = segments[i]!;
      if (segment.firstN > throughN) return;
      const known = this.#position?.segment === segment.name && (this.#position.n === afterN || this.#position.n === afterN + 1) ? this.#position : undefined;
      const done = yield* this.#segment(segment, known?.offset ?? 0, known?.n, afterN, throughN);
      if (done) return;
    }
  }

  async *#segment(segment: Segment, start: number, expected: number | undefined, afterN: number, throughN: number): AsyncGenerator<StoredRecord, boolean> {
    let first = true;
    try {
      for await (const line of readLines(segment.path, start)) {
        if (line.torn) return false;
        const record = parseRecord(line.text);
        // A remembered offset that no longer starts the record expected (the file was cut back, set aside): read the segment from its start.
        if (first && expected !== undefined && record?.n !== expected) {
          this.#position = undefined;
          return yield* this.#segment(segment, 0, undefined, afterN, throughN);
        }
        first = false;
        if (!record || record.n <= afterN) continue;
        if (record.n > throughN) return true;
        this.#position = { segment: segment.name, offset: line.offset, n: record.n };
        yield { record, line: line.text };
        if (record.n === throughN) return true;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false; // removed by retention meanwhile
      throw error;
    }
    return false;
  }
}
