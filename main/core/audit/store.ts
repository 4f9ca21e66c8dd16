import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { systemClock, type Clock } from '../clock.js';
import { accountForTip } from './account.js';
import type { AirlockEvent } from './events.js';
import { dueHandOver } from './handover.js';
import { writeHead, type HeadSigner } from './head.js';
import { writeIntent } from './intent.js';
import { sealRecord } from './record.js';
import { dayOf, listSegments, segmentName, type Segment } from './segments.js';
import type { TrailEnd } from './trail-end.js';

export interface AuditStoreOptions {
  /** AIRLOCK_HOME/audit */
  dir: string;
  signer: HeadSigner;
  /** Group commit: records are written and fsynced at most this long after append(). */
  flushIntervalMs?: number;
  /** A segment is closed when it would grow past this, or when the UTC day changes. */
  segmentMaxBytes?: number;
  /** append() returns false past this many pending records: wait for whenWritable(). */
  highWaterRecords?: number;
  /** The keychain's record of the last signed head is raised at most this often (and when closing). */
  rememberIntervalMs?: number;
  clock?: Clock;
}

interface ChainTip {
  segment: Segment | undefined;
  size: number;
  n: number;
  hash: string;
}

/** Sealed lines for one segment, written with one write and one fsync. */
interface Chunk {
  segment: Segment;
  lines: string[];
}

export const SEGMENTS_DIR = 'segments';
export { TORN_DIR, TAMPERED_DIR } from './set-aside.js';

/**
 * The audit trail's writer: append-only JSONL segments, each record chained to the one before by
 * its hash, and a signed head. Records are committed in groups (one write and one fsync per
 * group, at most `flushIntervalMs` after they were appended). Several processes may append at
 * once: a lock file serialises their groups, and each re-reads the chain's tip when another
 * process has written since, so the chain stays one line with contiguous numbers.
 */
export class AuditStore {
  readonly dir: string;
  readonly #segmentsDir: string;
  readonly #signer: HeadSigner;
  readonly #interval: number;
  readonly #segmentMax: number;
  readonly #highWater: number;
  #pending: AirlockEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #queued = false;
  #chain: Promise<void> = Promise.resolve();
  #tip: ChainTip | undefined;
  #failure: Error | undefined;
  #writableWaiters: (() => void)[] = [];
  readonly #failureListeners = new Set<(error: Error) => void>();
  readonly #tamperListeners = new Set<(record: AirlockEvent) => void>();
  readonly #commitListeners = new Set<(end: TrailEnd) => void>();
  #retry: NodeJS.Timeout | undefined;
  readonly #clock: Clock;
  readonly #rememberInterval: number;
  /** The furthest record known signed: by this process, or (read once) by this machine's keychain. */
  #known: TrailEnd | undefined;
  #keychainRead = false;
  /** The last head this process signed, and how far the keychain was raised to and when. */
  #signed: TrailEnd | undefined;
  #remembered = { n: 0, at: -Infinity };
  #closing = false;
  /** The keychain's record is to be raised at the next commit, whatever the interval (sync(), or a trailing raise). */
  #rememberDue = false;
  #rememberTimer: { cancel(): void } | undefined;
  /** A group is on disk but its head could not be written: the next commit signs it, even with nothing new. */
  #headOwed = false;
  /** sync() before this process wrote anything: a hand-over that is due (handover.ts) is written then, not at the first event. */
  #handOverCheck = false;
  /** Groups written (each one write and one fsync) and records in them: for tests and benchmarks. */
  readonly stats = { commits: 0, records: 0 };

  constructor(options: AuditStoreOptions) {
    this.dir = options.dir;
    this.#segmentsDir = path.join(options.dir, SEGMENTS_DIR);
    this.#signer = options.signer;
    this.#interval = options.flushIntervalMs ?? 25;
    this.#segmentMax = options.segmentMaxBytes ?? 16 * 1024 * 1024;
    this.#highWater = options.highWaterRecords ?? 20_000;
    this.#rememberInterval = options.rememberIntervalMs ?? 1000;
    this.#clock = options.clock ?? systemClock;
    fs.mkdirSync(this.#segmentsDir, { recursive: true, mode: 0o700 });
  }

  /** Queues an event; returns false when the caller should wait for whenWritable(). */
  append(event: AirlockEvent): boolean {
    this.#pending.push(event);
    this.#requestCommit(this.#pending.length >= this.#highWater / 2 ? 0 : this.#interval);
    return this.#pending.length < this.#highWater;
  }

  whenWritable(): Promise<void> {
    if (this.#pending.length < this.#highWater) return Promise.resolve();
    return new Promise((resolve) => this.#writableWaiters.push(resolve));
  }

  /** Resolves when everything appended so far is on disk (fsynced) and the head is signed. */
  flush(): Promise<void> {
    this.#requestCommit(0);
    return this.#chain.then(() => {
      if (this.#failure) throw new Error(`${this.#failure.message} (${this.#pending.length} event(s) not recorded)`, { cause: this.#failure });
    });
  }

  /**
   * Flushes, and raises the keychain's record of the trail's end to the last head signed now (a
   * long-lived writer — the engine — answers with it: a task's end, a verify).
   */
  sync(): Promise<void> {
    this.#rememberDue = true;
    this.#handOverCheck = this.#tip === undefined;
    return this.flush();
  }

  /** Flushes, and raises the keychain's record of the trail's end to the last head signed. */
  close(): Promise<void> {
    this.#closing = true;
    return this.flush().finally(() => {
      clearTimeout(this.#retry);
      this.#retry = undefined;
      this.#rememberTimer?.cancel();
      this.#rememberTimer = undefined;
    });
  }

  /** Why the last group could not be made durable, while that is so (it is retried every second). */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Called when events stop being durable (disk full, I/O error, the folder gone): the owner stops
   * what must not run unrecorded. Called once per failure, not for each retry that fails again.
   */
  onFailure(listener: (error: Error) => void): () => void {
    this.#failureListeners.add(listener);
    return () => this.#failureListeners.delete(listener);
  }

  /** Called once an `audit.tamper` record is durable: the owner tells the person (it goes on writing). */
  onTamper(listener: (record: AirlockEvent) => void): () => void {
    this.#tamperListeners.add(listener);
    return () => this.#tamperListeners.delete(listener);
  }

  /** Called after each group is durable and its head signed (audit forwarding wakes on it). */
  onCommit(listener: (end: TrailEnd) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /**
   * At most one commit waits in line: it takes everything pending when it starts, so queueing
   * another before then would only add work (and, in a burst, an ever longer promise chain).
   */
  #requestCommit(delayMs: number): void {
    if (this.#queued) return;
    if (delayMs > 0) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#requestCommit(0);
      }, delayMs);
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queued = true;
    this.#chain = this.#chain.then(() => {
      this.#queued = false;
      return this.#commit();
    });
  }

  async #commit(): Promise<void> {
    if (this.#pending.length === 0 && !this.#headOwed && !this.#handOverCheck && !((this.#closing || this.#rememberDue) && this.#owesRemember())) return;
    const batch = this.#pending;
    this.#pending = [];
    for (const resolve of this.#writableWaiters.splice(0)) resolve();
    let release: (() => Promise<void>) | undefined;
    let notices: AirlockEvent[] = [];
    let written = false;
    try {
      // Fails at once when the folder is unusable, instead of the lock retrying for seconds.
      await fs.promises.mkdir(this.#segmentsDir, { recursive: true, mode: 0o700 });
      release = await lockfile.lock(this.dir, {
        lockfilePath: path.join(this.dir, 'writer.lock'),
        retries: { retries: 1000, factor: 1.3, minTimeout: 2, maxTimeout: 40 },
        stale: 5000,
        onCompromised: (error) => {
          this.#failure = error;
        },
      });
      const handOver = batch.length === 0 && !this.#headOwed && this.#handOverCheck && await this.#handOverDue();
      this.#handOverCheck = false;
      if (batch.length > 0 || this.#headOwed || handOver) {
        const { notices: found, ...tip } = await this.#readTip();
        notices = found;
        const time = new Date(this.#clock.now()).toISOString();
        let end: ChainTip = tip;
        if (notices.length + batch.length > 0) {
          const sealed = this.#seal(tip, [...notices, ...batch]);
          end = sealed.end;
          // The torn-write marker: signed and durable before any of the group's bytes are.
          await writeIntent(this.dir, this.#signer, { from: { n: tip.n, hash: tip.hash }, to: { n: end.n, hash: end.hash } }, end.segment!.name, time);
          for (const chunk of sealed.chunks) await appendDurably(chunk);
          written = true;
        }
        if (end.segment) await writeHead(this.dir, this.#signer.sign({ n: end.n, hash: end.hash, segment: end.segment.name, time }), this.#signer);
        this.#headOwed = false;
        this.#tip = end;
        this.#signed = { n: end.n, hash: end.hash };
        this.#known = this.#signed;
        this.#failure = undefined;
        this.stats.commits += 1;
        this.stats.records += notices.length + batch.length;
        for (const listener of this.#commitListeners) {
          try {
            listener(this.#signed);
          } catch {
            // a listener must not undo the write
          }
        }
      }
      const tampering = notices.filter((notice) => notice.kind === 'audit.tamper');
      this.#remember(tampering.length > 0);
      for (const record of tampering) {
        for (const listener of this.#tamperListeners) {
          try {
            listener(record);
          } catch {
            // telling someone must not undo the write
          }
        }
      }
    } catch (error) {
      this.#tip = undefined; // re-read from disk next time
      const first = this.#failure === undefined;
      this.#failure = new Error(`the audit trail could not be written: ${(error as Error).message}`, { cause: error });
      // Written but not signed: on disk, announced by the signed intent; the next try adopts them and
      // signs (writing them again would record them twice). Otherwise keep them for the next try:
      // nothing is lost silently (and what was found set aside is not found again).
      if (written) this.#headOwed = true;
      else this.#pending = [...notices, ...batch, ...this.#pending];
      // Try again on our own: the events held here are written once the disk has room again.
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        this.#requestCommit(0);
      }, 1000);
      this.#retry.unref?.();
      if (first) {
        for (const listener of this.#failureListeners) {
          try {
            listener(this.#failure);
          } catch {
            // a listener that fails must not stop the retries
          }
        }
      }
    } finally {
      await release?.().catch(() => undefined);
    }
  }

  /** Whether the trail is signed by a key this keychain lost: then the next commit hands it over, even with nothing new. */
  async #handOverDue(): Promise<boolean> {
    try {
      return (await dueHandOver(this.dir, this.#signer, this.#known ?? this.#signer.lastSigned(this.dir))) !== undefined;
    } catch {
      return false; // no keychain: the first event finds out, as before
    }
  }

  #owesRemember(): boolean {
    return this.#signed !== undefined && this.#signed.n > this.#remembered.n;
  }

  /**
   * Raises the keychain's record of the last signed head (under the writer lock, so writers never
   * lower it). A keychain call per group would cost more than the group: at most once a second,
   * at once after tampering, and when the writer closes.
   */
  #remember(now: boolean): void {
    if (!this.#owesRemember()) {
      this.#rememberDue = false;
      return;
    }
    const at = this.#clock.now();
    if (!now && !this.#closing && !this.#rememberDue && at - this.#remembered.at < this.#rememberInterval) {
      // Raised later even when no group comes: a writer that stays open (the engine) must not
      // leave its last records unmarked in the keychain, where a cut of them would go unseen.
      this.#rememberTimer ??= this.#clock.setTimeout(() => {
        this.#rememberTimer = undefined;
        this.#rememberDue = true;
        this.#requestCommit(0);
      }, this.#rememberInterval - (at - this.#remembered.at));
      return;
    }
    this.#rememberDue = false;
    try {
      this.#signer.rememberSigned(this.dir, this.#signed!);
      this.#remembered = { n: this.#signed!.n, at };
    } catch {
      // The records and their head are written; the keychain is raised at the next group.
    }
  }

  /** Seals the records in order, starting a segment on size or day boundaries. No I/O. */
  #seal(tip: ChainTip, events: AirlockEvent[]): { chunks: Chunk[]; end: ChainTip } {
    const end = { ...tip };
    const chunks: Chunk[] = [];
    for (const event of events) {
      const day = dayOf(event.time);
      if (!end.segment || (end.size > 0 && (end.size >= this.#segmentMax || day !== end.segment.day))) {
        const name = segmentName(end.n + 1, event.time);
        end.segment = { name, path: path.join(this.#segmentsDir, name), firstN: end.n + 1, day };
        end.size = 0;
      }
      if (chunks.at(-1)?.segment !== end.segment) chunks.push({ segment: end.segment, lines: [] });
      const { line, hash } = sealRecord(event, end.n + 1, end.hash);
      chunks.at(-1)!.lines.push(`${line}\n`);
      end.size += Buffer.byteLength(line) + 1;
      end.n += 1;
      end.hash = hash;
    }
    return { chunks, end };
  }

  /**
   * The chain's tip: cached while the newest segment is as this writer left it; otherwise (at
   * open, after another writer, after a failure) accounted for from the last vouched-for record.
   */
  async #readTip(): Promise<ChainTip & { notices: AirlockEvent[] }> {
    const last = (await listSegments(this.#segmentsDir)).at(-1);
    if (this.#tip?.segment && last?.name === this.#tip.segment.name && (await fs.promises.stat(last.path)).size === this.#tip.size) return { ...this.#tip, notices: [] };
    if (!this.#keychainRead) {
      const kept = this.#signer.lastSigned(this.dir);
      if (kept && (!this.#known || kept.n > this.#known.n)) this.#known = kept;
      this.#keychainRead = true;
    }
    return accountForTip({ dir: this.dir, segmentsDir: this.#segmentsDir, signer: this.#signer, known: this.#known, time: new Date(this.#clock.now()).toISOString() });
  }
}

async function appendDurably(chunk: Chunk): Promise<void> {
  const handle = await fs.promises.open(chunk.segment.path, 'a', 0o600);
  try {
    await handle.write(chunk.lines.join(''));
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
