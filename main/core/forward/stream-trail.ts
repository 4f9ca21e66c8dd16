/**
 * One trail's items as a collector holds them, checked for continuity. Items may arrive in any
 * order (a collector writes concurrent requests as they finish), so each is kept in a few numbers
 * and hashes — never its line — and the chain is walked in `n` order at the end.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { checkHandOver, fingerprint, type KeyChange } from '../audit/handover.js';
import { headVerifier, type SignedHead } from '../audit/head.js';
import { GENESIS, hashBody, openLine } from '../audit/record.js';
import type { StreamItem, StreamSource } from './stream-parse.js';

export interface StreamProblem {
  /** The record (or range start) where it shows, when there is one. */
  n?: number;
  /** The file's line the item came from. */
  line?: number;
  message: string;
}

/** What the verifier says about one trail (one machine's AIRLOCK_HOME). */
export interface TrailReport {
  trailId: string;
  /** As the items said (not checked). */
  source: StreamSource;
  /** Continuous from `first` to `last`, every hash and head good. */
  ok: boolean;
  first?: number;
  last?: number;
  /** Distinct records held. */
  records: number;
  skipped: { ranges: number; records: number };
  /** Copies of an n after its first, each marked redelivery and identical (allowed). */
  duplicates: number;
  /** The last signed head whose record the stream holds with that hash. */
  head?: { n: number; hash: string; time: string; fingerprint: string };
  /** The signing keys the stream shows, oldest first (hand-overs switch them). */
  keys: string[];
  keyChanges: KeyChange[];
  notes: string[];
  problems: StreamProblem[];
  /** Problems beyond those listed (a hostile file can have millions). */
  moreProblems: number;
}

export const MAX_PROBLEMS = 200;
const HEX64 = /^[0-9a-f]{64}$/;
/** How much of a source field (a host name, a user) is kept: someone else's text. */
const SOURCE_TEXT = 255;

/** A record or skipped range, in what identifies it. */
interface Entry {
  n: number;
  /** The last n it covers (n for a record). */
  to: number;
  prev: string;
  /** The record's hash, or the range's lastHash. */
  hash: string;
  /** Equal for byte-identical copies: the hash of a record whose line checks, else a hash of the line; the range's count. */
  digest: string;
  skipped: boolean;
  redelivery: boolean;
  line: number;
  order: number;
  change?: { change: KeyChange } | { problem: string };
}

interface HeadEntry {
  n: number;
  hash: string;
  time: string;
  fingerprint: string;
  line: number;
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1;

export class TrailCheck {
  private readonly entries: Entry[] = [];
  private readonly heads: HeadEntry[] = [];
  private readonly report: TrailReport;
  private order = 0;

  constructor(trailId: string) {
    this.report = { trailId, source: {}, ok: false, records: 0, skipped: { ranges: 0, records: 0 }, duplicates: 0, keys: [], keyChanges: [], notes: [], problems: [], moreProblems: 0 };
  }

  problem(problem: StreamProblem): void {
    if (this.report.problems.length < MAX_PROBLEMS) this.report.problems.push(problem);
    else this.report.moreProblems += 1;
  }

  add(item: StreamItem, line: number): void {
    if (item.source && !this.report.source.host && !this.report.source.user) this.report.source = bounded(item.source);
    if (item.type === 'record') this.addRecord(item, line);
    else if (item.type === 'skipped') this.addSkipped(item, line);
    else this.addHead(item, line);
  }

  private addRecord(item: Extract<StreamItem, { type: 'record' }>, line: number): void {
    const opened = openLine(item.line);
    let fields: { n?: unknown; prev?: unknown; kind?: unknown; time?: unknown; data?: unknown } | undefined;
    try {
      fields = opened ? (JSON.parse(opened.body) as typeof fields) : undefined;
    } catch {
      fields = undefined;
    }
    if (!opened || typeof fields !== 'object' || fields === null) return this.problem({ line, message: 'a record item whose line is not a sealed audit record' });
    const { n, prev, kind, time, data } = fields;
    if (!isCount(n) || typeof prev !== 'string' || !HEX64.test(prev)) return this.problem({ line, message: 'a record whose n or prev is not valid' });
    const sound = hashBody(opened.body) === opened.claimed;
    if (!sound) this.problem({ n, line, message: `hash mismatch at ${n}: record ${n}'s content does not match its hash (changed after it was written)` });
    const { stated } = item;
    if ((stated.n !== undefined && stated.n !== n) || (stated.hash !== undefined && stated.hash !== opened.claimed) || (stated.prev !== undefined && stated.prev !== prev)) {
      this.problem({ n, line, message: `record ${n}: the n, prev or hash its carrier states (OTLP attributes, syslog structured data) is not the record's own` });
    }
    // A regex match can be a slice of the whole line, keeping it alive: held as a string of its own.
    const hash = Buffer.from(opened.claimed, 'latin1').toString('latin1');
    const entry: Entry = { n, to: n, prev, hash, digest: sound ? hash : `line:${createHash('sha256').update(item.line).digest('hex')}`, skipped: false, redelivery: item.redelivery, line, order: this.order++ };
    if (kind === 'audit.handover' && sound) entry.change = handOver({ n, prev, time, data });
    if (kind === 'audit.tamper' && sound) this.note(`record ${n} is Airlock's own report that it found the local trail tampered with`);
    this.entries.push(entry);
  }

  private addSkipped(item: Extract<StreamItem, { type: 'skipped' }>, line: number): void {
    const { from, to, count, prev, lastHash } = item;
    if (!isCount(from) || !isCount(to) || to < from || count !== to - from + 1 || typeof prev !== 'string' || !HEX64.test(prev) || typeof lastHash !== 'string' || !HEX64.test(lastHash)) {
      return this.problem({ ...(isCount(from) ? { n: from } : {}), line, message: 'a skipped range whose from, to, count, prev or lastHash is not valid' });
    }
    this.entries.push({ n: from, to, prev, hash: lastHash, digest: `count:${count}`, skipped: true, redelivery: item.redelivery, line, order: this.order++ });
  }

  private addHead(item: Extract<StreamItem, { type: 'head' }>, line: number): void {
    const signed = item.signed as Partial<SignedHead> | undefined;
    const head = typeof signed === 'object' && signed !== null && typeof signed.head === 'object' && signed.head !== null ? signed.head : undefined;
    const n = head?.n;
    const where = isCount(n) ? { n } : {};
    if (!head || !isCount(n) || typeof head.hash !== 'string' || typeof head.time !== 'string' || head.from !== undefined) return this.problem({ ...where, line, message: 'bad head: not a signed head ({head:{n,hash,segment,time},alg,signature})' });
    let key: string | undefined;
    try {
      const publicKey = typeof item.publicKey === 'string' && item.publicKey.length <= 4096 ? createPublicKey(item.publicKey) : undefined;
      if (publicKey?.asymmetricKeyType === 'ed25519' && headVerifier(publicKey).verify(signed as SignedHead)) key = fingerprint(publicKey);
    } catch {
      key = undefined;
    }
    if (!key) return this.problem({ n, line, message: `bad head at ${n}: its signature does not verify with the public key it carries` });
    if (item.fingerprint !== key) return this.problem({ n, line, message: `bad head at ${n}: the fingerprint it states is not its key's (${key})` });
    this.heads.push({ n, hash: head.hash, time: head.time.slice(0, 64), fingerprint: key, line });
  }

  private note(note: string): void {
    if (this.report.notes.length < MAX_PROBLEMS) this.report.notes.push(note);
  }

  /** Walks the chain in n order; `pins` are the fingerprints a person gave (none: each head's own key). */
  finish(pins: ReadonlySet<string>): TrailReport {
    const report = this.report;
    this.entries.sort((a, b) => a.n - b.n || a.order - b.order);
    const held: Entry[] = [];
    let expected: number | undefined;
    let prevHash = GENESIS;
    for (let i = 0; i < this.entries.length; ) {
      let j = i + 1;
      while (j < this.entries.length && this.entries[j]!.n === this.entries[i]!.n) j += 1;
      const copies = this.entries.slice(i, j);
      // The original is the copy not marked as a redelivery: a collector may store a late original after its redelivery.
      const first = copies.find((copy) => !copy.redelivery) ?? copies[0]!;
      for (const copy of copies) if (copy !== first) this.checkCopy(first, copy);
      i = j;
      const what = first.skipped ? `skipped range ${first.n}–${first.to}` : `record ${first.n}`;
      if (expected === undefined) {
        report.first = first.n;
        if (first.n === 1 && first.prev !== GENESIS) this.problem({ n: 1, line: first.line, message: 'broken link at 1: the first record of the trail does not start the chain' });
        if (first.n > 1) this.note(`the stream starts at record ${first.n}: records before it were not forwarded here, and its link to record ${first.n - 1} cannot be checked`);
      } else if (first.n > expected) {
        this.problem({ n: expected, line: first.line, message: first.n - 1 > expected ? `gap at ${expected}: records ${expected}–${first.n - 1} are missing` : `gap at ${expected}: record ${expected} is missing` });
      } else if (first.n < expected) {
        this.problem({ n: first.n, line: first.line, message: `${what} overlaps what the stream already holds up to ${expected - 1}` });
        continue;
      } else if (first.prev !== prevHash) {
        this.problem({ n: first.n, line: first.line, message: `broken link at ${first.n}: ${what} does not follow ${expected - 1} (its prev is not the hash before it)` });
      }
      held.push(first);
      if (first.skipped) {
        report.skipped.ranges += 1;
        report.skipped.records += first.to - first.n + 1;
      } else report.records += 1;
      prevHash = first.hash;
      expected = first.to + 1;
    }
    if (expected !== undefined) report.last = expected - 1;
    this.checkKeysAndHeads(held, pins);
    if (report.first === undefined && this.heads.length === 0) this.problem({ message: 'no records in the stream for this trail' });
    report.ok = report.problems.length === 0 && report.moreProblems === 0;
    return report;
  }

  /** Another copy of an n: allowed only when marked as a redelivery and identical to the original. */
  private checkCopy(first: Entry, copy: Entry): void {
    const name = first.skipped ? `skipped range ${first.n}–${first.to}` : `record ${first.n}`;
    if (!copy.redelivery) return this.problem({ n: first.n, line: copy.line, message: `unmarked duplicate at ${first.n}: ${name} appears again (line ${copy.line}) without being marked as a redelivery (first on line ${first.line})` });
    const same = copy.skipped === first.skipped && copy.to === first.to && copy.prev === first.prev && copy.hash === first.hash && copy.digest === first.digest;
    if (!same) return this.problem({ n: first.n, line: copy.line, message: `duplicate at ${first.n} differs: the copy on line ${copy.line}, marked as a redelivery, is not identical to the first (line ${first.line})` });
    this.report.duplicates += 1;
  }

  private checkKeysAndHeads(held: Entry[], pins: ReadonlySet<string>): void {
    const report = this.report;
    for (const entry of held) {
      if (!entry.change) continue;
      if ('problem' in entry.change) {
        this.problem({ n: entry.n, line: entry.line, message: `record ${entry.n} is a hand-over to a new signing key that does not hold: ${entry.change.problem}` });
        continue;
      }
      const change = entry.change.change;
      const before = report.keyChanges.at(-1);
      if (before && before.to !== change.from) this.problem({ n: entry.n, line: entry.line, message: `record ${entry.n} hands over from key ${change.from}, but the trail was handed over to key ${before.to} before` });
      else report.keyChanges.push(change);
    }
    this.heads.sort((a, b) => a.n - b.n);
    // Before any hand-over the trail's key is the one the first hand-over names, else the heads' (a key you gave first).
    const firstKeys = this.heads.map((head) => head.fingerprint);
    const initial = report.keyChanges[0]?.from ?? firstKeys.find((key) => pins.has(key)) ?? firstKeys[0];
    const distinct = [...new Set(firstKeys)];
    if (report.keyChanges.length === 0 && !firstKeys.some((key) => pins.has(key)) && distinct.length > 1) {
      // Each key is self-consistent; nothing in the stream says which is the trail's.
      for (const head of this.heads) this.problem({ n: head.n, line: head.line, message: `bad head at ${head.n}: the stream's heads are signed by ${distinct.length} keys (${distinct.join(', ')}) with no hand-over between them, and only one can be the trail's: give its key (--public-key or --fingerprint)` });
      report.keys = distinct;
      return;
    }
    if (initial) report.keys = [initial, ...report.keyChanges.map((change) => change.to)];
    const keyAt = (n: number): string | undefined => report.keyChanges.filter((change) => change.record <= n).at(-1)?.to ?? initial;
    const pinned = pins.size === 0 ? report.keys.length - 1 : report.keys.findLastIndex((key) => pins.has(key));
    if (pins.size > 0 && pinned === -1) this.problem({ message: report.keys.length === 0 ? 'no signed head in the stream: the key you gave cannot be checked' : `none of the trail's signing keys (${report.keys.join(', ')}) is a key you gave` });
    else if (report.keys.length === 0 && report.first !== undefined) this.note('no signed head in the stream: nothing proves where the trail ends or which key wrote it');

    let at = 0;
    for (const head of this.heads) {
      const expectedKey = keyAt(head.n);
      if (head.fingerprint !== expectedKey) {
        this.problem({ n: head.n, line: head.line, message: `bad head at ${head.n}: signed by key ${head.fingerprint}, but the trail's key there is ${expectedKey ?? 'unknown'}` });
        continue;
      }
      if (pins.size > 0 && report.keys.indexOf(head.fingerprint) > pinned) {
        this.problem({ n: head.n, line: head.line, message: `bad head at ${head.n}: signed by key ${head.fingerprint}, which is not a key you gave nor handed over to one` });
        continue;
      }
      if (report.first !== undefined && head.n < report.first) {
        this.note(`the signed head at ${head.n} names a record before the stream starts (${report.first}): not checked`);
        continue;
      }
      while (at < held.length && held[at]!.to < head.n) at += 1;
      const entry = held[at];
      if (!entry || entry.n > head.n) {
        if (report.last !== undefined && head.n > report.last) this.problem({ n: head.n, line: head.line, message: `bad head at ${head.n}: it names record ${head.n}, but the stream holds records only up to ${report.last}` });
        else this.problem({ n: head.n, line: head.line, message: `bad head at ${head.n}: it names record ${head.n}, which the stream does not hold` });
        continue;
      }
      if (entry.skipped && entry.to !== head.n) {
        this.note(`the signed head at ${head.n} falls inside skipped range ${entry.n}–${entry.to}: its hash cannot be checked`);
        continue;
      }
      if (entry.hash !== head.hash) {
        this.problem({ n: head.n, line: head.line, message: `bad head at ${head.n}: the stream's record ${head.n} is not the one the signed head names` });
        continue;
      }
      if (!report.head || head.n >= report.head.n) report.head = { n: head.n, hash: head.hash, time: head.time, fingerprint: head.fingerprint };
    }
    if (report.head && report.last !== undefined && report.last > report.head.n) this.note(`records ${report.head.n + 1}–${report.last} are not yet covered by a signed head`);
  }
}

/** checkHandOver on hostile data: its canonical JSON recurses, so a deep value must not escape as an exception. */
function handOver(record: { n: number; prev: string; time: unknown; data: unknown }): Entry['change'] {
  try {
    const checked = checkHandOver(record, undefined);
    return 'change' in checked ? { change: { ...checked.change, reason: checked.change.reason.slice(0, 500) } } : checked;
  } catch {
    return { problem: 'it is not shaped like one (keys, head, reason, signature)' };
  }
}

function bounded(source: StreamSource): StreamSource {
  const out: StreamSource = {};
  for (const field of ['host', 'user', 'version'] as const) if (source[field] !== undefined) out[field] = source[field].slice(0, SOURCE_TEXT);
  return out;
}
