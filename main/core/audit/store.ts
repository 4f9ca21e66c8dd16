import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import type { AirlockEvent } from './events.js';
import { readHead, writeHead, type HeadSigner } from './head.js';
import { GENESIS, parseRecord, sealRecord } from './record.js';
import { dayOf, listSegments, readTail, segmentName, type Segment } from './segments.js';

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
}

interface ChainTip {
  segment: Segment | undefined;
  size: number;
  n: number;
  hash: string;
  /** Bytes from `from` on in `segment` are not a whole record: a write a crash cut short. */
  torn?: { segment: Segment; from: number };
}

export const SEGMENTS_DIR = 'segments';
export const TORN_DIR = 'torn';

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
  #retry: NodeJS.Timeout | undefined;
  /** Groups written (each one write and one fsync) and records in them: for tests and benchmarks. */
  readonly stats = { commits: 0, records: 0 };

  constructor(options: AuditStoreOptions) {
    this.dir = options.dir;
    this.#segmentsDir = path.join(options.dir, SEGMENTS_DIR);
    this.#signer = options.signer;
    this.#interval = options.flushIntervalMs ?? 25;
    this.#segmentMax = options.segmentMaxBytes ?? 16 * 1024 * 1024;
    this.#highWater = options.highWaterRecords ?? 20_000;
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

  close(): Promise<void> {
    return this.flush().finally(() => {
      clearTimeout(this.#retry);
      this.#retry = undefined;
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
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    for (const resolve of this.#writableWaiters.splice(0)) resolve();
    let release: (() => Promise<void>) | undefined;
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
      let tip = await this.#readTip();
      const recovered: AirlockEvent[] = [];
      while (tip.torn) {
        recovered.push(await this.#setAsideTornWrite(tip.torn));
        tip = await this.#readTip();
      }
      await this.#write(tip, [...recovered, ...batch]);
      await writeHead(this.dir, this.#signer.sign({ n: tip.n, hash: tip.hash, segment: tip.segment!.name, time: new Date().toISOString() }), this.#signer);
      this.#tip = tip;
      this.#failure = undefined;
      this.stats.commits += 1;
      this.stats.records += recovered.length + batch.length;
    } catch (error) {
      this.#tip = undefined; // re-read from disk next time
      const first = this.#failure === undefined;
      this.#failure = new Error(`the audit trail could not be written: ${(error as Error).message}`, { cause: error });
      this.#pending = [...batch, ...this.#pending]; // keep them for the next try: nothing is lost silently
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

  /** Appends records to the tip's segment, opening a new segment on size or day boundaries. */
  async #write(tip: ChainTip, events: AirlockEvent[]): Promise<void> {
    let lines: string[] = [];
    let bytes = 0;
    const flushLines = async () => {
      if (lines.length === 0) return;
      const handle = await fs.promises.open(tip.segment!.path, 'a', 0o600);
      try {
        await handle.write(lines.join(''));
        await handle.datasync();
      } finally {
        await handle.close();
      }
      tip.size += bytes;
      lines = [];
      bytes = 0;
    };
    for (const event of events) {
      const day = dayOf(event.time);
      if (!tip.segment || (tip.size + bytes > 0 && (tip.size + bytes >= this.#segmentMax || day !== tip.segment.day))) {
        await flushLines();
        const name = segmentName(tip.n + 1, event.time);
        tip.segment = { name, path: path.join(this.#segmentsDir, name), firstN: tip.n + 1, day };
        tip.size = 0;
      }
      const { line, hash } = sealRecord(event, tip.n + 1, tip.hash);
      lines.push(`${line}\n`);
      bytes += Buffer.byteLength(line) + 1;
      tip.n += 1;
      tip.hash = hash;
    }
    await flushLines();
  }

  /** The chain's tip as on disk: cached unless another process has appended since. */
  async #readTip(): Promise<ChainTip> {
    const segments = await listSegments(this.#segmentsDir);
    const last = segments.at(-1);
    if (!last) return { segment: undefined, size: 0, ...(await this.#tipAfterRetention()) };
    const size = (await fs.promises.stat(last.path)).size;
    if (this.#tip?.segment?.name === last.name && this.#tip.size === size) return this.#tip;
    const tail = await readTail(last.path);
    if (tail.lastLine !== undefined) {
      const record = parseRecord(tail.lastLine);
      if (record && tail.tornBytes === 0) return { segment: last, size, n: record.n, hash: record.hash };
      const from = record ? tail.goodLength : tail.goodLength - Buffer.byteLength(tail.lastLine) - 1;
      return { segment: last, size, n: -1, hash: '', torn: { segment: last, from } };
    }
    if (tail.tornBytes > 0) return { segment: last, size, n: -1, hash: '', torn: { segment: last, from: 0 } };
    // An empty segment: the tip is the last record before it.
    const previous = segments.at(-2);
    const before = previous ? await readTail(previous.path) : undefined;
    const record = before?.lastLine ? parseRecord(before.lastLine) : undefined;
    const hash = record?.hash ?? (last.firstN === 1 ? GENESIS : (await this.#tipAfterRetention()).hash);
    return { segment: last, size: 0, n: last.firstN - 1, hash };
  }

  /** With every segment pruned by retention, the chain goes on from the signed head. */
  async #tipAfterRetention(): Promise<{ n: number; hash: string }> {
    const head = await readHead(this.dir);
    return head && this.#signer.verify(head) ? { n: head.head.n, hash: head.head.hash } : { n: 0, hash: GENESIS };
  }

  /**
   * A write cut short by a crash leaves a last line without its newline (or not a whole record).
   * Its bytes are set aside in torn/, the segment is cut back to the last good record, and the
   * chain itself records that this happened.
   */
  async #setAsideTornWrite(torn: { segment: Segment; from: number }): Promise<AirlockEvent> {
    const { segment, from } = torn;
    const tornDir = path.join(this.dir, TORN_DIR);
    await fs.promises.mkdir(tornDir, { recursive: true, mode: 0o700 });
    const bytes = (await fs.promises.readFile(segment.path)).subarray(from);
    const kept = path.join(tornDir, `${segment.name}.${from}.partial`);
    await fs.promises.writeFile(kept, bytes, { mode: 0o600 });
    await fs.promises.truncate(segment.path, from);
    return {
      v: 1, seq: 0, time: new Date().toISOString(), task: '-', agent: { name: 'airlock', digest: '' }, actor: 'airlock',
      kind: 'audit.recovered',
      data: { reason: 'a write cut short by a crash was set aside', segment: segment.name, offset: from, bytes: bytes.length, keptAs: path.relative(this.dir, kept) },
    };
  }
}
