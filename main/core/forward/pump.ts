/**
 * One forwarder's pump: reads the trail on disk from its durable cursor, up to the signed head,
 * and hands one bounded batch at a time to its transport (so order holds, and memory is the batch
 * in hand). An unacknowledged batch is sent again, whole and marked redelivery, after a backoff.
 * It only reads files: a collector that is slow or gone never slows a task (the trail on disk is
 * the buffer). Its loop never throws: every outcome is a state the status shows.
 */
import type { SignedHead } from '../audit/head.js';
import { fingerprint } from '../audit/handover.js';
import type { Clock } from '../clock.js';
import { Backoff } from './backoff.js';
import { sendingAs, type Cursor, type CursorFile } from './cursor.js';
import { collectBatch, DEFAULT_BATCH_LIMITS, type BatchLimits, type PendingBatch } from './filter.js';
import type { TrailReader, VouchedHead } from './reader.js';
import type { ForwardBatch, ForwarderConfig, ForwarderStatus, ForwardItem, ForwardSource, ForwardTransport, SendOutcome } from './types.js';

/** How often the trail is looked at for other processes' writes (the CLIs append to it too). */
export const POLL_MS = 250;
const MAX_REASON_LENGTH = 500;

export interface PumpDeps {
  config: ForwarderConfig;
  cursor: CursorFile;
  reader: TrailReader;
  /** Makes the transport (reading its secret): may throw, which counts as a failed send. */
  transport: () => ForwardTransport;
  source: ForwardSource;
  /** The key whose signature the head carries: sent with it. */
  publicKeyPem: () => string;
  clock: Clock;
  random?: () => number;
  limits?: BatchLimits;
  pollMs?: number;
  /** The forwarder went from delivering to failing, or back (once per change, never per retry). */
  onDelivery?: (state: 'failing' | 'delivering', reason?: string) => void;
  /**
   * It starts sending under a configuration (collector, filter) its cursor has not sent under:
   * added, or changed by hand in forwarders.json (`changed`: it sent under another before).
   */
  onConfig?: (change: 'started' | 'changed') => Promise<void> | void;
  /** Anything the status shows changed. */
  onChange?: () => void;
}

type Batch =
  | (PendingBatch & { type: 'records'; covers?: SignedHead; markBelow: number; tried: boolean })
  | { type: 'head'; signed: SignedHead };

export type PumpSnapshot = Pick<ForwarderStatus, 'state' | 'acked' | 'tip' | 'lag' | 'lastError' | 'nextAttemptAt' | 'headSent'>;

export class ForwarderPump {
  readonly config: ForwarderConfig;
  readonly #deps: PumpDeps;
  readonly #backoff: Backoff;
  #limits: BatchLimits;
  readonly #pollMs: number;
  #cursor: Cursor | undefined;
  #damaged: Error | undefined;
  #batch: Batch | undefined;
  #transport: ForwardTransport | undefined;
  #head: VouchedHead = { state: 'absent' };
  /** The latest signed head every record of which the collector acknowledged. */
  #covered: SignedHead | undefined;
  /** Send the covered head at once (caught up after an outage), whatever the interval. */
  #headNow = false;
  /** While a flush waits: the covered head is due as soon as it is newer than the one sent. */
  #headEager = false;
  #failing = false;
  #state: ForwarderStatus['state'] = 'caught-up';
  #nextAttemptAt: number | undefined;
  #oldestTime: string | undefined;
  #headProblem: string | undefined;
  #closed = false;
  #inFlight: AbortController | undefined;
  #sleeping: { resolve: () => void; backoff: boolean } | undefined;
  #running: Promise<void> | undefined;
  #stepWaiters: Array<() => void> = [];

  constructor(deps: PumpDeps) {
    this.config = deps.config;
    this.#deps = deps;
    this.#backoff = new Backoff({ random: deps.random ?? Math.random });
    this.#limits = deps.limits ?? DEFAULT_BATCH_LIMITS;
    this.#pollMs = deps.pollMs ?? POLL_MS;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** New records are durable (this process's group commit): look now, unless waiting out a backoff. */
  wake(): void {
    if (this.#sleeping && !this.#sleeping.backoff) this.#sleeping.resolve();
  }

  /**
   * Try now: the backoff is reset, and until `settle()` every acknowledged record is followed by the
   * signed head that covers it (a flush ends with the collector holding a signed point at the tip).
   */
  sendNow(): void {
    this.#headEager = true;
    this.#backoff.reset();
    this.#nextAttemptAt = undefined;
    this.#sleeping?.resolve();
  }

  /** A flush is over: the head goes by its interval again. */
  settle(): void {
    this.#headEager = false;
  }

  /** Resolves once the pump has been through its loop once more (or is closed). */
  nextStep(): Promise<void> {
    if (this.#closed || !this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#stepWaiters.push(resolve));
  }

  /** Stops: a send in flight is aborted (it was not acknowledged: the batch goes again, marked, next time). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#inFlight?.abort();
    this.#sleeping?.resolve();
    await this.#running;
    for (const resolve of this.#stepWaiters.splice(0)) resolve();
    await this.#transport?.close().catch(() => undefined);
  }

  /** Whether records wait to be acknowledged (an engine does not leave while one does). */
  get lagging(): boolean {
    if (this.#damaged || !this.#cursor) return false;
    return this.#batch?.type === 'records' || this.#tipN() > (this.#cursor.acked?.n ?? 0);
  }

  /** Its cursor was refused (damaged, or not this trail's): where the collector stands is unknown. */
  get damaged(): boolean {
    return this.#damaged !== undefined;
  }

  /** Nothing to send: every record acknowledged, and no signed head due now. */
  get caughtUp(): boolean {
    return !this.#damaged && !this.lagging && this.#state === 'caught-up' && this.#headWait() !== 0;
  }

  /** Where the pump is, as it last looked at the trail. */
  snapshot(): PumpSnapshot {
    return this.#snapshot();
  }

  /**
   * Where the pump is, against the trail's signed head as read now (`tip`: fresher than the pump's
   * own look while it waits out a backoff); `timeOf` finds the oldest unacknowledged record's time
   * when no batch in hand says it.
   */
  async snapshotAgainst(tip: { n: number; time?: string }, timeOf: (afterN: number) => Promise<string | undefined>): Promise<PumpSnapshot> {
    if (tip.n <= this.#tipN()) return this.#snapshot();
    const inHand = this.#batch?.type === 'records' ? this.#oldestTime : undefined;
    return this.#snapshot(tip, inHand ?? await timeOf(this.#cursor?.acked?.n ?? 0));
  }

  #snapshot(fresh?: { n: number; time?: string }, oldestTime: string | undefined = this.#oldestTime): PumpSnapshot {
    const now = this.#deps.clock.now();
    const cursor = this.#cursor;
    const ownTip = this.#tipN();
    const tipN = fresh && fresh.n > ownTip ? fresh.n : ownTip;
    const ackedN = cursor?.acked?.n ?? 0;
    const records = Math.max(0, tipN - ackedN);
    const error = this.#damaged ? { at: new Date(now).toISOString(), message: this.#damaged.message } : this.#headProblem ? { at: new Date(now).toISOString(), message: this.#headProblem } : cursor?.lastError;
    return {
      state: this.#damaged ? 'stopped' : this.#state,
      ...(cursor?.acked ? { acked: { n: cursor.acked.n, time: cursor.acked.time } } : {}),
      tip: fresh && fresh.n > ownTip ? fresh : { n: tipN, ...(this.#head.state === 'valid' ? { time: this.#head.head.time } : {}) },
      lag: { records, ms: records > 0 && oldestTime ? Math.max(0, now - Date.parse(oldestTime)) : 0 },
      ...(error ? { lastError: error } : {}),
      ...(this.#nextAttemptAt !== undefined ? { nextAttemptAt: new Date(this.#nextAttemptAt).toISOString() } : {}),
      ...(cursor?.headSent ? { headSent: cursor.headSent } : {}),
    };
  }

  #tipN(): number {
    return this.#head.state === 'valid' ? this.#head.head.n : this.#cursor?.acked?.n ?? 0;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let wait: { ms: number; backoff: boolean };
      try {
        wait = await this.#step();
      } catch (error) {
        wait = await this.#failed(`cannot forward: ${(error as Error).message}`);
      }
      this.#changed();
      for (const resolve of this.#stepWaiters.splice(0)) resolve();
      if (this.#closed) break;
      await this.#sleep(wait.ms, wait.backoff);
    }
  }

  async #step(): Promise<{ ms: number; backoff: boolean }> {
    if (!this.#cursor) {
      try {
        let read = this.#deps.cursor.read();
        await this.#checkAgainstTrail(read);
        this.#damaged = undefined;
        const config = sendingAs(this.config);
        if (read.config !== config) {
          // In the trail before anything is sent under it: a filter that hides records, or another collector, is never silent.
          await this.#deps.onConfig?.(read.config === undefined ? 'started' : 'changed'); // durable, or nothing is sent
          read = { ...read, config };
          await this.#save(read);
        }
        this.#cursor = read;
      } catch (error) {
        // Refused by name, never restarted from the start or the tip: looked at again now and then.
        this.#damaged = error as Error;
        if (!this.#failing) {
          this.#failing = true;
          this.#deps.onDelivery?.('failing', this.#damaged.message.slice(0, MAX_REASON_LENGTH)); // in the trail: records may have been passed over
        }
        return { ms: this.#pollMs * 4, backoff: true };
      }
    }
    const cursor = this.#cursor;
    if (!this.#batch) {
      this.#head = await this.#deps.reader.head();
      this.#headProblem = this.#head.state === 'invalid' ? 'the trail\'s head.json is not signed by this machine\'s key: nothing past the last signed record is forwarded (run `airlock audit verify`)' : undefined;
      if (this.#head.state !== 'valid') {
        this.#state = 'caught-up';
        return { ms: this.#pollMs, backoff: false };
      }
      const head = this.#head;
      const ackedN = cursor.acked?.n ?? 0;
      if (head.head.n === ackedN && head.head.hash === cursor.acked?.hash) this.#covered = head.signed;
      // Records first; the head once they are all acknowledged (at once after an outage or a flush),
      // or when its interval is up.
      if (head.head.n > ackedN) {
        const pending = await collectBatch(this.#deps.reader.after(ackedN, head.head.n), this.#deps.config.filter, this.#limits);
        if (pending) {
          const covers = pending.last.n === head.head.n && pending.last.hash === head.head.hash ? head.signed : undefined;
          this.#batch = { ...pending, type: 'records', markBelow: cursor.sentThrough, tried: false, ...(covers ? { covers } : {}) };
          this.#oldestTime = pending.firstTime;
        }
      }
      const headWait = this.#batch ? undefined : this.#headWait();
      if (headWait === 0) this.#batch = { type: 'head', signed: this.#covered! };
      if (!this.#batch) {
        this.#state = 'caught-up';
        return { ms: headWait === undefined ? this.#pollMs : Math.min(this.#pollMs, headWait), backoff: false };
      }
    }
    return this.#send(this.#batch, cursor);
  }

  /**
   * A cursor moved forward by hand (or copied from another trail) would pass records over without
   * a word here: its acknowledged record must be the trail's record of that n (when retention has
   * not removed it), and no later than the signed head.
   */
  async #checkAgainstTrail(cursor: Cursor): Promise<void> {
    const acked = cursor.acked;
    if (!acked) return;
    const head = await this.#deps.reader.head();
    if (head.state === 'valid' && acked.n > head.head.n) throw this.#deps.cursor.damaged(`it says the collector acknowledged record ${acked.n}, past the trail's last signed record ${head.head.n}`);
    for await (const { record } of this.#deps.reader.after(acked.n - 1, acked.n)) {
      if (record.n === acked.n && record.hash !== acked.hash) throw this.#deps.cursor.damaged(`it says the collector acknowledged record ${acked.n} with hash ${acked.hash.slice(0, 12)}…, but the trail's record ${acked.n} has hash ${record.hash.slice(0, 12)}…`);
    }
  }

  /** 0: the covered head is due now; a number: due in that many ms; undefined: none to send. */
  #headWait(): number | undefined {
    const covered = this.#covered;
    const sent = this.#cursor?.headSent;
    if (!covered || (sent && covered.head.n <= sent.n)) return undefined;
    if (this.#headNow || this.#headEager || !sent) return 0;
    return Math.max(0, Date.parse(sent.at) + this.config.headEveryMs - this.#deps.clock.now());
  }

  async #send(batch: Batch, cursor: Cursor): Promise<{ ms: number; backoff: boolean }> {
    let items: ForwardItem[];
    if (batch.type === 'records') {
      // Durable BEFORE the send: after a crash mid-send, what may have reached the collector is marked.
      if (batch.last.n > cursor.sentThrough) await this.#save({ ...cursor, sentThrough: batch.last.n });
      items = batch.items.map((item) => (item.type === 'head' ? item : { ...item, redelivery: batch.tried || (item.type === 'record' ? item.record.n : item.from) <= batch.markBelow }));
      batch.tried = true;
    } else {
      const pem = this.#deps.publicKeyPem();
      items = [{ type: 'head', signed: batch.signed, publicKeyPem: pem, fingerprint: fingerprint(pem) }];
    }
    this.#state = 'sending';
    this.#changed();
    const outcome = await this.#transmit({ source: this.#deps.source, items });
    if (this.#closed) return { ms: 0, backoff: false };
    if (!outcome.ok && outcome.tooLarge && batch.type === 'records' && batch.items.length > 1) {
      // Read again in halves (what was sent is marked redelivery: it is at or before sentThrough), down to one record a batch.
      this.#limits = { ...this.#limits, maxItems: Math.max(1, Math.floor(batch.items.length / 2)), maxBytes: Math.max(1, Math.floor(this.#limits.maxBytes / 2)) };
      this.#batch = undefined;
    }
    if (!outcome.ok) return this.#failed(outcome.reason, outcome.retryAfterMs);
    const now = new Date(this.#deps.clock.now()).toISOString();
    const current = this.#cursor!;
    if (batch.type === 'records') {
      await this.#save({ ...current, acked: batch.last, lastError: undefined });
      if (batch.covers) this.#covered = batch.covers;
    } else {
      await this.#save({ ...current, headSent: { n: batch.signed.head.n, at: now }, lastError: undefined });
      this.#headNow = false;
    }
    this.#batch = undefined;
    this.#backoff.reset();
    this.#nextAttemptAt = undefined;
    if (this.#failing) {
      this.#failing = false;
      this.#headNow = true;
      this.#deps.onDelivery?.('delivering');
    }
    return { ms: 0, backoff: false };
  }

  async #transmit(batch: ForwardBatch): Promise<SendOutcome> {
    const abort = (this.#inFlight = new AbortController());
    try {
      this.#transport ??= this.#deps.transport();
      return await this.#transport.send(batch, abort.signal);
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    } finally {
      this.#inFlight = undefined;
    }
  }

  async #failed(reason: string, retryAfterMs?: number): Promise<{ ms: number; backoff: boolean }> {
    const message = reason.slice(0, MAX_REASON_LENGTH);
    const now = this.#deps.clock.now();
    const delay = this.#backoff.next(retryAfterMs);
    if (this.#cursor) await this.#save({ ...this.#cursor, lastError: { at: new Date(now).toISOString(), message } }).catch(() => undefined);
    this.#nextAttemptAt = now + delay;
    this.#state = 'retrying';
    if (!this.#failing) {
      this.#failing = true;
      this.#deps.onDelivery?.('failing', message);
    }
    return { ms: delay, backoff: true };
  }

  async #save(cursor: Cursor): Promise<void> {
    const clean: Cursor = { v: 1, acked: cursor.acked, sentThrough: cursor.sentThrough, headSent: cursor.headSent, ...(cursor.lastError ? { lastError: cursor.lastError } : {}), ...(cursor.config ? { config: cursor.config } : {}) };
    await this.#deps.cursor.write(clean);
    this.#cursor = clean;
  }

  #sleep(ms: number, backoff: boolean): Promise<void> {
    if (ms <= 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimeout(() => done(), ms);
      const done = () => {
        timer.cancel();
        this.#sleeping = undefined;
        resolve();
      };
      this.#sleeping = { resolve: done, backoff };
    });
  }

  #changed(): void {
    try {
      this.#deps.onChange?.();
    } catch {
      // a listener must not stop the pump
    }
  }
}
