import path from 'node:path';
import { readHead, type HeadSigner } from './head.js';
import { GENESIS, hashBody, openLine } from './record.js';
import { listSegments, readLines } from './segments.js';
import { SEGMENTS_DIR } from './store.js';

export interface VerifyProblem {
  /** The record where the chain first goes wrong (its expected number). */
  record: number;
  segment?: string;
  line?: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  headSigned: boolean;
  /** The first problem that breaks the trail; verification stops there. */
  problem?: VerifyProblem;
  /** Things that are not tampering but worth knowing: a torn last write, records newer than the head. */
  notes: string[];
}

/**
 * Re-hashes every record and checks the chain from the first record to the signed head: a changed
 * byte, a removed, reordered or inserted record, a removed segment, a cut tail or a replaced head
 * is reported at the first record where it shows. Streams: memory does not grow with the log.
 */
export async function verifyAuditTrail(dir: string, signer: HeadSigner): Promise<VerifyResult> {
  const notes: string[] = [];
  const fail = (records: number, problem: VerifyProblem, headSigned = false): VerifyResult => ({ ok: false, records, headSigned, problem, notes });
  const signed = await readHead(dir);
  const headSigned = signed !== undefined && signer.verify(signed);
  const segments = await listSegments(path.join(dir, SEGMENTS_DIR));

  let expected = 1;
  let prev = GENESIS;
  let count = 0;
  let hashAtHead: string | undefined;
  // After retention removed old segments, the first kept record chains to a removed one; a signed
  // `audit.retention` record later in the trail must vouch for exactly that link.
  let unexplainedStart: { n: number; prev: string } | undefined;

  for (const [index, segment] of segments.entries()) {
    let firstInSegment = true;
    for await (const line of readLines(segment.path)) {
      const where = { segment: segment.name, line: line.lineNo };
      if (line.torn) {
        if (index === segments.length - 1) {
          notes.push(`a write cut short by a crash at the end of ${segment.name} (line ${line.lineNo}); the next write sets it aside`);
          break;
        }
        return fail(count, { record: expected, ...where, message: `record ${expected} is cut off in the middle of ${segment.name}` });
      }
      const opened = openLine(line.text);
      if (!opened) return fail(count, { record: expected, ...where, message: `record ${expected} was altered: the line is not a sealed record` });
      if (hashBody(opened.body) !== opened.claimed) return fail(count, { record: expected, ...where, message: `record ${expected} was altered: its content does not match its hash` });
      let n: number;
      let recordPrev: string;
      let kind: string;
      let data: { firstKept?: { n: number; prev: string } } | undefined;
      try {
        ({ n, prev: recordPrev, kind, data } = JSON.parse(opened.body) as { n: number; prev: string; kind: string; data?: { firstKept?: { n: number; prev: string } } });
      } catch {
        return fail(count, { record: expected, ...where, message: `record ${expected} was altered: not valid JSON` });
      }
      if (count === 0 && n !== 1) {
        unexplainedStart = { n, prev: recordPrev };
        expected = n;
        prev = recordPrev;
      }
      if (firstInSegment && n !== segment.firstN && n === expected) {
        return fail(count, { record: expected, ...where, message: `segment ${segment.name} should start with record ${segment.firstN} but starts with record ${n}` });
      }
      firstInSegment = false;
      if (n > expected) {
        const which = n - 1 > expected ? `records ${expected}–${n - 1} are` : `record ${expected} is`;
        return fail(count, { record: expected, ...where, message: `${which} missing here (removed or moved${segment.firstN === n ? ', or a whole segment was deleted' : ''})` });
      }
      if (n < expected) return fail(count, { record: expected, ...where, message: `record ${n} appears again or out of order where record ${expected} should be` });
      if (recordPrev !== prev) return fail(count, { record: n, ...where, message: `record ${n} does not follow record ${n - 1}: the chain is broken (reordered or replaced)` });
      if (kind === 'audit.retention' && unexplainedStart && data?.firstKept?.n === unexplainedStart.n && data.firstKept.prev === unexplainedStart.prev) unexplainedStart = undefined;
      prev = opened.claimed;
      if (signed && n === signed.head.n) hashAtHead = opened.claimed;
      expected = n + 1;
      count += 1;
    }
  }

  const last = expected - 1;
  if (unexplainedStart) return fail(count, { record: 1, message: `records 1–${unexplainedStart.n - 1} are missing and no retention record explains it` }, headSigned);
  if (!signed) {
    if (count === 0) return { ok: true, records: 0, headSigned: false, notes };
    return fail(count, { record: last, message: 'the signed head is missing: the end of the trail cannot be checked' });
  }
  if (!headSigned) return fail(count, { record: signed.head.n, message: 'the head\'s signature is not valid: the head was replaced or the trail rewritten' });
  if (signed.head.n > last) return fail(count, { record: last + 1, message: `the trail is cut off: the signed head says ${signed.head.n} records, found ${last}` }, true);
  if (hashAtHead !== signed.head.hash) return fail(count, { record: signed.head.n, message: `record ${signed.head.n} is not the one the signed head names` }, true);
  if (last > signed.head.n) notes.push(`${last - signed.head.n} record(s) after the signed head (written just before a crash, before the head was updated)`);
  return { ok: true, records: count, headSigned: true, notes };
}

