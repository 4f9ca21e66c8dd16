import { createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import type { AirlockEvent } from './events.js';
import { dueHandOver, handOverData } from './handover.js';
import { forgetKeptPublicKey, headVerifier, readSignedHead, type HeadSigner } from './head.js';
import { intentExplains, readIntent } from './intent.js';
import { GENESIS, hashBody, openLine } from './record.js';
import { listSegments, readLines, readTail, type Segment } from './segments.js';
import { setAside, TAMPERED_DIR, TORN_DIR, type SegmentPart } from './set-aside.js';
import type { TrailEnd } from './trail-end.js';

/** Where the next record goes, once everything on disk after the last vouched-for record is accounted for. */
export interface AccountedTip {
  /** Undefined: the next record starts a new segment. */
  segment: Segment | undefined;
  size: number;
  n: number;
  hash: string;
  /** Airlock's own records to write before anything else: crash leftovers set aside, tampering found. */
  notices: AirlockEvent[];
}

export interface AccountOptions {
  dir: string;
  segmentsDir: string;
  signer: HeadSigner;
  /** The furthest record known to have been signed: by this process, or by this machine (the keychain). */
  known: TrailEnd | undefined;
  time: string;
}

/**
 * What a writer checks before it appends (at open, and whenever the files changed under it): the
 * chain from the last record it can vouch for — the signed head, or the keychain's record of the
 * last head this machine signed when that is further on — to the tip. Records after it are
 * adopted only when the writer's own signed intent pins them (a crash between a group's write and
 * its head); a torn last write is set aside as before. Anything else — records nobody signed, a
 * head rolled back, records the head names that are gone, a wiped trail — is tampering: it is
 * moved to audit/tampered/, an `audit.tamper` record says what was found, and the chain goes on in
 * a new segment from the record vouched for. Nothing unaccounted for is ever signed over.
 */
export async function accountForTip(options: AccountOptions): Promise<AccountedTip> {
  const { dir, segmentsDir, signer, known, time } = options;
  forgetKeptPublicKey(dir);
  const segments = await listSegments(segmentsDir);
  const head = await readSignedHead(dir, signer);
  if (head.state === 'invalid') {
    const handedOver = await handOverTip(options, segments);
    if (handedOver) return handedOver;
  }
  const findings: string[] = [];
  let anchor: TrailEnd & { by: 'head' | 'keychain' | 'nothing' } = { n: 0, hash: GENESIS, by: 'nothing' };
  if (head.state === 'valid') anchor = { n: head.head.n, hash: head.head.hash, by: 'head' };
  if (head.state === 'invalid') findings.push('head.json is not a head signed with this machine\'s key (replaced, edited or unreadable)');
  if (known && (known.n > anchor.n || (known.n === anchor.n && known.hash !== anchor.hash))) {
    if (head.state === 'valid') findings.push(`the signed head names record ${anchor.n}, but this machine signed up to record ${known.n} (hash ${known.hash}): the trail was rolled back`);
    else if (head.state === 'absent') findings.push(segments.length === 0 ? `the trail is gone: this machine signed it up to record ${known.n}` : `the signed head is gone; this machine signed up to record ${known.n}`);
    anchor = { ...known, by: 'keychain' };
  }

  const located = anchor.n === 0 ? { index: -1, end: 0 } : await locate(segments, anchor);
  let after: SegmentPart[];
  if (located) {
    after = segments.slice(located.index + 1).map((segment) => ({ segment, start: 0 }));
    if (located.index >= 0) after.unshift({ segment: segments[located.index]!, start: located.end });
  } else {
    findings.push(`record ${anchor.n}, which the ${anchor.by === 'head' ? 'signed head' : 'keychain'} vouches for, is not in the trail: records were cut off or replaced`);
    after = segments.filter((segment) => segment.firstN > anchor.n).map((segment) => ({ segment, start: 0 }));
  }
  after = await withoutEmptyFiles(after);
  const base = located && located.index >= 0 ? segments[located.index]! : undefined;
  const tip = (notices: AirlockEvent[]): AccountedTip => ({ segment: base, size: located?.end ?? 0, n: anchor.n, hash: anchor.hash, notices });

  if (findings.length > 0) {
    const setAsideEntries = await setAside(dir, TAMPERED_DIR, after);
    const notice = airlockRecord(time, 'audit.tamper', {
      reason: 'the trail\'s files were changed by someone without its signing key',
      findings,
      vouchedFor: { n: anchor.n, hash: anchor.hash, by: anchor.by },
      setAside: setAsideEntries,
      continuesAt: anchor.n + 1,
    });
    // A new segment: what comes after the tampering starts where nobody else's bytes are.
    return { segment: undefined, size: 0, n: anchor.n, hash: anchor.hash, notices: [notice] };
  }
  if (after.length === 0) return tip([]);

  const walked = await walkAfter(after, anchor);
  const intent = await readIntent(dir, signer);
  const explained = walked.last ? intentExplains(intent, anchor, walked.last) : false;
  if (explained === 'whole' && walked.chained) {
    // Pinned by the signed intent's hash: adopted. Torn bytes after them are no record: set aside.
    const torn = walked.tornAt ? await setAside(dir, TORN_DIR, [walked.tornAt]) : [];
    const notice = airlockRecord(time, 'audit.recovered', {
      reason: `records written just before a crash, before their head was signed, were adopted: the writer's signed intent vouches for them${torn.length > 0 ? '; a write cut short after them was set aside' : ''}`,
      records: { from: anchor.n + 1, to: walked.last!.n },
      ...(torn[0] ? { segment: torn[0].segment, offset: torn[0].offset, bytes: torn[0].bytes, keptAs: torn[0].keptAs } : {}),
    });
    return { segment: walked.lastAt!.segment, size: walked.lastAt!.start, n: walked.last!.n, hash: walked.last!.hash, notices: [notice] };
  }
  // The writer's own intent from this record, or nothing but a torn last line: a crash cut a write short.
  const crash = (intent?.from.n === anchor.n && intent.from.hash === anchor.hash) || (walked.records === 0 && walked.torn);
  const entries = await setAside(dir, crash ? TORN_DIR : TAMPERED_DIR, after);
  if (crash) {
    return tip([airlockRecord(time, 'audit.recovered', {
      reason: 'a write cut short by a crash was set aside',
      ...(walked.records > 0 ? { records: { from: anchor.n + 1, to: anchor.n + walked.records } } : {}),
      segment: entries[0]!.segment, offset: entries[0]!.offset,
      bytes: entries.reduce((sum, e) => sum + e.bytes, 0), keptAs: entries.map((e) => e.keptAs).join(', '),
    })]);
  }
  return { segment: undefined, size: 0, n: anchor.n, hash: anchor.hash, notices: [airlockRecord(time, 'audit.tamper', {
    reason: 'the trail\'s files were changed by someone without its signing key',
    findings: [walked.chained && walked.records > 0
      ? `${walked.records} record(s) after the signed head (records ${anchor.n + 1}–${anchor.n + walked.records}) that no signed intent explains`
      : `what follows record ${anchor.n} does not continue the chain`],
    vouchedFor: { n: anchor.n, hash: anchor.hash, by: anchor.by },
    setAside: entries,
    continuesAt: anchor.n + 1,
  })] };
}

/**
 * When the keychain lost the key that signed the trail (dueHandOver): the chain goes on from the
 * record the previous key's head names, and the first record after it is the new key's hand-over.
 * What follows that record is set aside as everywhere else: as torn when the previous key's intent
 * announced it (a crash before the key was lost), else as tampering. Undefined: no hand-over.
 */
async function handOverTip(options: AccountOptions, segments: Segment[]): Promise<AccountedTip | undefined> {
  const { dir, signer, known, time } = options;
  const previous = await dueHandOver(dir, signer, known);
  if (!previous) return undefined;
  const anchor: TrailEnd = { n: previous.head.head.n, hash: previous.head.head.hash };
  const located = await locate(segments, anchor);
  if (!located) return undefined; // the previous key's head names a record that is gone: tampering, handed over to nobody
  const after = await withoutEmptyFiles([
    { segment: segments[located.index]!, start: located.end },
    ...segments.slice(located.index + 1).map((segment) => ({ segment, start: 0 })),
  ]);
  const notices = [airlockRecord(time, 'audit.handover', { ...handOverData(time, signer, previous) })];
  if (after.length === 0) return { segment: segments[located.index], size: located.end, n: anchor.n, hash: anchor.hash, notices };
  const intent = await readIntent(dir, headVerifier(createPublicKey(previous.publicKey)));
  const crash = intent?.from.n === anchor.n && intent.from.hash === anchor.hash;
  const entries = await setAside(dir, crash ? TORN_DIR : TAMPERED_DIR, after);
  notices.push(crash
    ? airlockRecord(time, 'audit.recovered', { reason: 'a write the previous key announced but never signed a head for (a crash) was set aside', segment: entries[0]!.segment, offset: entries[0]!.offset, bytes: entries.reduce((sum, e) => sum + e.bytes, 0), keptAs: entries.map((e) => e.keptAs).join(', ') })
    : airlockRecord(time, 'audit.tamper', {
      reason: 'the trail\'s files were changed by someone without its signing key',
      findings: [`what follows record ${anchor.n}, the last the previous key signed a head for, was never signed by it`],
      vouchedFor: { n: anchor.n, hash: anchor.hash, by: 'previous key' },
      setAside: entries,
      continuesAt: anchor.n + 1,
    }));
  return { segment: undefined, size: 0, n: anchor.n, hash: anchor.hash, notices };
}

/** The segment and byte offset just after `anchor`'s record, if that record (with that hash) is there. */
async function locate(segments: Segment[], anchor: TrailEnd): Promise<{ index: number; end: number } | undefined> {
  const index = segments.findLastIndex((s) => s.firstN <= anchor.n);
  if (index === -1) return undefined;
  const file = segments[index]!.path;
  const isAnchor = (text: string) => {
    const opened = openLine(text);
    return opened?.claimed === anchor.hash && hashBody(opened.body) === anchor.hash && linkOf(opened.body)?.n === anchor.n;
  };
  // Usually the anchor is the last line: one read of the file's end.
  const tail = await readTail(file);
  if (tail.lastLine !== undefined && isAnchor(tail.lastLine)) return { index, end: tail.goodLength };
  for await (const line of readLines(file)) {
    if (!line.torn && isAnchor(line.text)) return { index, end: line.offset + Buffer.byteLength(line.text) + 1 };
  }
  return undefined;
}

interface Walked {
  chained: boolean;
  records: number;
  last: TrailEnd | undefined;
  /** Just after the last record: its segment and the byte offset there. */
  lastAt: SegmentPart | undefined;
  torn: boolean;
  tornAt?: SegmentPart;
}

/** Streams what follows the anchor: does it continue the chain, how far, and does it end in a torn write. */
async function walkAfter(parts: SegmentPart[], anchor: TrailEnd): Promise<Walked> {
  let previous: TrailEnd = anchor;
  let records = 0;
  let lastAt: SegmentPart | undefined;
  const walked = (chained: boolean, torn: boolean) => ({ chained, records, last: records > 0 ? previous : undefined, lastAt, torn });
  for (const [i, { segment, start }] of parts.entries()) {
    for await (const line of readLines(segment.path, start)) {
      if (line.torn) return { ...walked(i === parts.length - 1, true), tornAt: { segment, start: line.offset } };
      const opened = openLine(line.text);
      const link = opened ? linkOf(opened.body) : undefined;
      const chains = opened && link && link.n === previous.n + 1 && link.prev === previous.hash && hashBody(opened.body) === opened.claimed
        && (start > 0 || line.offset > 0 || segment.firstN === link.n);
      if (!chains) return walked(false, false);
      previous = { n: link.n, hash: opened.claimed };
      lastAt = { segment, start: line.offset + Buffer.byteLength(line.text) + 1 };
      records += 1;
    }
  }
  return walked(true, false);
}

/** A segment file with nothing in it (a crash between creating and writing it) holds nothing to account for. */
async function withoutEmptyFiles(parts: SegmentPart[]): Promise<SegmentPart[]> {
  const kept: SegmentPart[] = [];
  for (const part of parts) {
    const size = (await fs.promises.stat(part.segment.path)).size;
    if (size > part.start) kept.push(part);
    else if (part.start === 0) await fs.promises.rm(part.segment.path, { force: true });
  }
  return kept;
}

/** A sealed line's place in the chain: its number and the hash it chains to. */
function linkOf(body: string): { n: number; prev: string } | undefined {
  try {
    const { n, prev } = JSON.parse(body) as { n?: unknown; prev?: unknown };
    return typeof n === 'number' && typeof prev === 'string' ? { n, prev } : undefined;
  } catch {
    return undefined;
  }
}

export function airlockRecord(time: string, kind: 'audit.recovered' | 'audit.tamper' | 'audit.retention' | 'audit.handover', data: Record<string, unknown>): AirlockEvent {
  return { v: 1, seq: 0, time, task: '-', agent: { name: 'airlock', digest: '' }, actor: 'airlock', kind, data };
}
