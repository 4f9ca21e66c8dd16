import type { Duplex } from 'node:stream';
import type { EventBus } from '../audit/bus.js';
import type { Clock } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import { BASE_IMAGE } from '../images/images.js';
import { newTaskId } from './ids.js';
import { currentOwner } from './owner.js';
import { POOL_AGENT, prepareSlot, type PoolShape, type PoolSlot } from './pool-slot.js';
import { SANDBOX_DEFAULTS, type TaskSpec } from './spec.js';

export type { PoolShape, PoolSlot } from './pool-slot.js';

export interface PoolOptions {
  /** How many prepared sandboxes to keep (0: no pool). */
  size: number;
  /** A slot older than this is destroyed and replaced (its sidecar gives up on its own after 10 minutes). */
  maxAgeMs?: number;
  /** How long to wait after a slot could not be prepared before trying again. */
  retryMs?: number;
  /** What the slots are made for; the base image, /workspace and the default limits otherwise. */
  shape?: PoolShape;
}

export interface PoolState {
  size: number;
  ready: number;
  filling: number;
}

export interface PoolDeps {
  engine: () => Engine;
  bus: EventBus;
  clock: Clock;
  assetsDir: string;
  /** Opens the audit trail: no slot is made that the trail could not vouch for (it throws without a keychain). */
  audit: () => unknown;
  owner?: string;
  /**
   * Whether a task is being started now: a slot is prepared only when none is (making one beside
   * a cold start slows that start down; the run that is waiting comes first).
   */
  busy?: () => boolean;
}

/** How soon a fill put off for a starting task looks again. */
const BUSY_RECHECK_MS = 250;

export const DEFAULT_POOL_SHAPE: PoolShape = {
  image: BASE_IMAGE, workdir: '/workspace',
  limits: { cpus: SANDBOX_DEFAULTS.cpus, memoryBytes: SANDBOX_DEFAULTS.memoryBytes, pids: SANDBOX_DEFAULTS.pids, diskBytes: SANDBOX_DEFAULTS.diskBytes },
};
export const POOL_MAX_AGE_MS = 5 * 60_000;
const POOL_RETRY_MS = 30_000;

interface Ready {
  slot: PoolSlot;
  expiry: { cancel(): void };
}

/**
 * The warm pool: `size` pristine sandboxes prepared in the background (one at a time), so a task
 * whose spec fits takes one instead of creating its own. A slot is taken by one task at most and
 * destroyed with it; one that ages past `maxAgeMs`, or whose sidecar ends, is destroyed unused
 * (`pool.discarded`) and replaced. Nothing here ever throws at a caller: a slot that cannot be
 * made is recorded and tried again after `retryMs`, and claim() simply finds none.
 */
export class WarmPool {
  readonly #deps: PoolDeps;
  readonly #size: number;
  readonly #maxAgeMs: number;
  readonly #retryMs: number;
  readonly #shape: PoolShape;
  readonly #ready: Ready[] = [];
  #filling: Promise<void> | undefined;
  #retry: { cancel(): void } | undefined;
  #deferred: { cancel(): void } | undefined;
  #closed = false;

  constructor(deps: PoolDeps, options: PoolOptions) {
    this.#deps = deps;
    this.#size = Math.max(0, Math.floor(options.size));
    this.#maxAgeMs = options.maxAgeMs ?? POOL_MAX_AGE_MS;
    this.#retryMs = options.retryMs ?? POOL_RETRY_MS;
    this.#shape = options.shape ?? DEFAULT_POOL_SHAPE;
  }

  state(): PoolState {
    return { size: this.#size, ready: this.#ready.length, filling: this.#filling ? 1 : 0 };
  }

  /** Starts preparing slots up to the pool's size, in the background. */
  fill(): void {
    if (this.#closed || this.#filling || this.#retry || this.#deferred || this.#ready.length >= this.#size) return;
    if (this.#deps.busy?.()) {
      this.#deferred = this.#deps.clock.setTimeout(() => {
        this.#deferred = undefined;
        this.fill();
      }, BUSY_RECHECK_MS);
      return;
    }
    const filling = this.#prepareOne().finally(() => {
      if (this.#filling === filling) this.#filling = undefined;
      this.fill();
    });
    this.#filling = filling;
  }

  /** Settles once no slot is being prepared (tests, close). */
  async settled(): Promise<void> {
    while (this.#filling) await this.#filling;
  }

  /**
   * A ready slot the spec fits, taken out of the pool for good (`pool.claimed`), or undefined: the
   * task then makes its own sandbox. A slot past its age is discarded, never handed out.
   */
  claim(spec: TaskSpec): PoolSlot | undefined {
    for (;;) {
      const index = this.#ready.findIndex((r) => r.slot.fits(spec));
      if (index < 0) return undefined;
      const [taken] = this.#ready.splice(index, 1) as [Ready];
      taken.expiry.cancel();
      const ageMs = this.#deps.clock.now() - taken.slot.preparedAt;
      if (ageMs >= this.#maxAgeMs || (taken.slot.attached as unknown as Duplex).writableEnded) {
        this.#discard(taken.slot, ageMs >= this.#maxAgeMs ? 'older than the pool\'s maximum age' : 'its launcher is gone');
        continue;
      }
      this.#deps.bus.emit({ task: taken.slot.task, agent: POOL_AGENT, actor: 'airlock', kind: 'pool.claimed', data: { ageMs, agent: spec.agent.name } });
      this.fill();
      return taken.slot;
    }
  }

  /** No more slots; the ready ones (and one being made) are destroyed. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#retry?.cancel();
    this.#retry = undefined;
    this.#deferred?.cancel();
    this.#deferred = undefined;
    await this.settled();
    await Promise.all(this.#ready.splice(0).map(({ slot, expiry }) => {
      expiry.cancel();
      return this.#discard(slot, 'Airlock is closing');
    }));
  }

  async #prepareOne(): Promise<void> {
    const { bus, clock } = this.#deps;
    const task = newTaskId();
    let slot: PoolSlot;
    try {
      this.#deps.audit();
      slot = await prepareSlot({
        engine: this.#deps.engine(), bus, task, owner: this.#deps.owner ?? currentOwner(), now: clock.now(), shape: this.#shape, assetsDir: this.#deps.assetsDir,
      });
    } catch (error) {
      bus.emit({ task, agent: POOL_AGENT, actor: 'airlock', kind: 'pool.discarded', data: { reason: `it could not be prepared: ${(error as Error).message}` } });
      bus.release(task);
      this.#retry = clock.setTimeout(() => {
        this.#retry = undefined;
        this.fill();
      }, this.#retryMs);
      return;
    }
    if (this.#closed) {
      await this.#discard(slot, 'Airlock is closing');
      return;
    }
    const ready: Ready = { slot, expiry: clock.setTimeout(() => this.#expire(ready, 'older than the pool\'s maximum age'), this.#maxAgeMs) };
    this.#ready.push(ready);
    // A slot whose sidecar ends (killed, or its own start allowance passed) is of no use any more.
    void slot.sidecar.lost.then((reason) => this.#expire(ready, reason));
  }

  #expire(ready: Ready, reason: string): void {
    const index = this.#ready.indexOf(ready);
    if (index < 0) return; // claimed, or discarded already
    this.#ready.splice(index, 1);
    ready.expiry.cancel();
    void this.#discard(ready.slot, reason).finally(() => this.fill());
  }

  async #discard(slot: PoolSlot, reason: string): Promise<void> {
    const { bus } = this.#deps;
    const removed = await slot.destroy().catch((error: unknown) => ({ failed: (error as Error).message }));
    bus.emit({ task: slot.task, agent: POOL_AGENT, actor: 'airlock', kind: 'pool.discarded', data: { reason, removed } });
    bus.release(slot.task);
  }
}
