/**
 * Every forwarder of this Airlock home: one pump each (pump.ts), started by the engine process
 * only (a CLI run in-process reads their state, sends nothing). Follows forwarders.json (changed by
 * `airlock audit forward add|rm`, by another process, by hand), reports their status, flushes, and
 * records in the trail when a forwarder starts failing or delivers again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventBus } from '../audit/bus.js';
import type { HeadVerifier } from '../audit/head.js';
import { systemClock, type Clock } from '../clock.js';
import type { SecretStore } from '../credentials/keychain.js';
import { FORWARDERS_FILE, forwardersFile, secretAccount } from './config.js';
import { CursorFile } from './cursor.js';
import type { BatchLimits } from './filter.js';
import { ForwarderPump } from './pump.js';
import { TrailReader } from './reader.js';
import { forwarderStatus, restingSnapshot } from './status.js';
import { readOrMakeTrailId } from './trail-id.js';
import type { ForwarderConfig, ForwarderStatus, ForwardSource, ForwardTransport, TransportFactory } from './types.js';

export type TrailKey = HeadVerifier & { publicKeyPem(): string };

export interface ForwardingOptions {
  /** AIRLOCK_HOME (forwarders.json). */
  home: string;
  /** AIRLOCK_HOME/audit (the trail, trail-id, forward/). */
  auditDir: string;
  /** The head-signing key (opened on first use: the keychain). */
  key: () => TrailKey;
  keychain: SecretStore;
  transports: TransportFactory;
  /** Where `audit.forward` records of delivery changes go. */
  bus?: EventBus;
  /** Opens the trail (so the bus is recorded in it) and makes what was emitted durable: a notice emitted before would be lost. */
  trail?: () => { flush(): Promise<void> };
  version: string;
  clock?: Clock;
  random?: () => number;
  pollMs?: number;
  limits?: BatchLimits;
  /** How often forwarders.json is looked at for changes other processes made. */
  configPollMs?: number;
}

/** The transports of a core that never sends (a CLI run in-process): every send fails, saying why. */
export const unavailableTransports: TransportFactory = () => ({
  send: () => Promise.resolve({ ok: false, reason: 'this process does not forward: the engine does' }),
  close: () => Promise.resolve(),
});

/** How long close() waits for the pumps (a send in flight is aborted first). */
const CLOSE_WAIT_MS = 5000;

export class Forwarding {
  readonly #options: ForwardingOptions;
  readonly #clock: Clock;
  readonly #pumps = new Map<string, { pump: ForwarderPump; signature: string }>();
  readonly #listeners = new Set<() => void>();
  #started = false;
  #closed = false;
  #configStamp = '';
  #configTimer: { cancel(): void } | undefined;
  #source: ForwardSource | undefined;

  constructor(options: ForwardingOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** The forwarders as configured; an AirlockError naming forwarders.json when it is damaged. */
  configs(): ForwarderConfig[] {
    return forwardersFile(this.#options.home).read();
  }

  cursor(name: string): CursorFile {
    return new CursorFile(this.#options.auditDir, name);
  }

  /** Starts a pump per enabled forwarder, and follows the configuration from now on. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.reload();
    this.#watchConfig();
  }

  /** Brings the pumps in line with forwarders.json (a damaged file leaves them as they are). */
  reload(): void {
    if (!this.#started || this.#closed) return;
    this.#configStamp = this.#stamp();
    let configs: ForwarderConfig[];
    try {
      configs = this.configs().filter((config) => config.enabled);
    } catch {
      return; // status says what is wrong with it
    }
    const wanted = new Map(configs.map((config) => [config.name, config]));
    for (const [name, running] of this.#pumps) {
      const config = wanted.get(name);
      if (!config || JSON.stringify(config) !== running.signature) {
        this.#pumps.delete(name);
        void running.pump.close();
      }
    }
    for (const config of configs) {
      if (this.#pumps.has(config.name)) continue;
      const pump = this.#makePump(config);
      if (!pump) continue;
      this.#pumps.set(config.name, { pump, signature: JSON.stringify(config) });
      pump.start();
    }
    this.#notify();
  }

  /** This process made records durable: every pump looks now. */
  wake(): void {
    for (const { pump } of this.#pumps.values()) pump.wake();
  }

  /** Whether an enabled forwarder has records the collector has not acknowledged. */
  lagging(): boolean {
    return [...this.#pumps.values()].some(({ pump }) => pump.lagging);
  }

  /** Called when a pump's state changes (the engine's idle check listens). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every configured forwarder with its lag, in the file's order. */
  async status(): Promise<ForwarderStatus[]> {
    const configs = this.configs();
    let tip: { n: number; time?: string } | undefined;
    const statuses: ForwarderStatus[] = [];
    for (const config of configs) {
      const running = this.#pumps.get(config.name);
      // The trail's head as it is now: a pump waiting out a backoff has not looked since it failed.
      tip ??= await this.#tip();
      let snapshot = await running?.pump.snapshotAgainst(tip, (afterN) => this.#recordTime(afterN + 1));
      if (!snapshot) {
        let cursor;
        try {
          cursor = this.cursor(config.name).read();
        } catch (error) {
          cursor = error as Error;
        }
        snapshot = restingSnapshot(cursor, tip, this.#clock.now());
      }
      statuses.push(forwarderStatus(config, this.#hasSecret(config.name), snapshot));
    }
    return statuses;
  }

  /** Sends now (backoffs reset) and waits until every pump is caught up or `timeoutMs` passes. */
  async flush(timeoutMs: number): Promise<ForwarderStatus[]> {
    const pumps = [...this.#pumps.values()].map(({ pump }) => pump);
    await Promise.all(pumps.map((pump) => {
      const stepped = pump.nextStep();
      pump.sendNow();
      return stepped;
    }));
    await new Promise<void>((resolve) => {
      const done = () => {
        timer.cancel();
        unsubscribe();
        resolve();
      };
      const check = () => {
        if (pumps.every((pump) => pump.caughtUp)) done();
      };
      const timer = this.#clock.setTimeout(done, timeoutMs);
      const unsubscribe = this.onChange(check);
      check();
    });
    for (const pump of pumps) pump.settle();
    return this.status();
  }

  /**
   * The first record retention must keep, and for whom: the oldest record an enabled forwarder has
   * not had acknowledged (a damaged cursor holds everything back). Undefined: nothing held.
   */
  holdBack(): { keepFrom: number; heldFor: Array<{ forwarder: string; ackedN: number }> } | undefined {
    let keepFrom = Infinity;
    const heldFor: Array<{ forwarder: string; ackedN: number }> = [];
    for (const config of this.configs().filter((c) => c.enabled)) {
      let ackedN = 0;
      try {
        // A cursor its pump refused (one that does not match the trail) says nothing either.
        ackedN = this.#pumps.get(config.name)?.pump.damaged ? 0 : this.cursor(config.name).read().acked?.n ?? 0;
      } catch {
        // unknown: hold all
      }
      keepFrom = Math.min(keepFrom, ackedN + 1);
      heldFor.push({ forwarder: config.name, ackedN });
    }
    return heldFor.length > 0 ? { keepFrom, heldFor } : undefined;
  }

  /** Stops every pump (sends in flight aborted), waiting at most a few seconds. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#configTimer?.cancel();
    const closing = [...this.#pumps.values()].map(({ pump }) => pump.close());
    this.#pumps.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closing), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS).unref()))]);
    clearTimeout(timer);
  }

  #makePump(config: ForwarderConfig): ForwarderPump | undefined {
    let key: TrailKey;
    try {
      key = this.#options.key();
      this.#source ??= this.#makeSource();
    } catch {
      return undefined; // no keychain, or a damaged trail id: status says so; tried again at the next change
    }
    const { clock, options } = { clock: this.#clock, options: this.#options };
    return new ForwarderPump({
      config,
      cursor: this.cursor(config.name),
      reader: new TrailReader(options.auditDir, key),
      transport: (): ForwardTransport => options.transports(config, options.keychain.get(secretAccount(config.name)) ?? undefined),
      source: this.#source,
      publicKeyPem: () => key.publicKeyPem(),
      clock,
      ...(options.random ? { random: options.random } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
      onDelivery: (state, reason) => this.#record(config, state, reason),
      onConfig: (change) => this.#recordConfig(config, change),
      onChange: () => this.#notify(),
    });
  }

  #makeSource(): ForwardSource {
    let user = 'user';
    try {
      user = os.userInfo().username;
    } catch {
      // no passwd entry: a container's uid
    }
    return { trailId: readOrMakeTrailId(this.#options.auditDir), host: os.hostname(), user, version: this.#options.version };
  }

  /** A forwarder started failing or delivers again: in the trail (a collector that went quiet is itself a record). */
  #record(config: ForwarderConfig, state: 'failing' | 'delivering', reason?: string): void {
    try {
      this.#options.trail?.();
    } catch {
      // no trail to record in (no keychain): nothing is forwarded either
    }
    this.#options.bus?.emit({
      task: '-', agent: { name: 'airlock', digest: '' }, actor: 'airlock', kind: 'audit.forward',
      data: { action: state, name: config.name, kind: config.kind, url: config.url, ...(reason ? { reason } : {}) },
    });
  }

  /** What a forwarder now sends, and to whom: in the trail when its cursor never sent under it (added, or forwarders.json changed by hand). */
  async #recordConfig(config: ForwarderConfig, change: 'started' | 'changed'): Promise<void> {
    const trail = this.#options.trail?.(); // throws without a trail: then nothing is sent under it
    this.#options.bus?.emit({
      task: '-', agent: { name: 'airlock', digest: '' }, actor: 'airlock', kind: 'audit.forward',
      data: {
        action: change, name: config.name, kind: config.kind, url: config.url,
        ...(config.encoding ? { encoding: config.encoding } : {}), ...(config.caFile ? { caFile: config.caFile } : {}),
        filter: config.filter ?? null,
      },
    });
    await trail?.flush();
  }

  async #tip(): Promise<{ n: number; time?: string }> {
    try {
      const head = await new TrailReader(this.#options.auditDir, this.#options.key()).head();
      return head.state === 'valid' ? { n: head.head.n, time: head.head.time } : { n: 0 };
    } catch {
      return { n: 0 };
    }
  }

  /** The time of record `n` (the oldest not acknowledged), read apart from every pump's reader. */
  async #recordTime(n: number): Promise<string | undefined> {
    try {
      for await (const stored of new TrailReader(this.#options.auditDir, this.#options.key()).after(n - 1, n)) return stored.record.time;
    } catch {
      // unreadable now: the lag in time is left out, the lag in records stands
    }
    return undefined;
  }

  #hasSecret(name: string): boolean {
    try {
      return this.#options.keychain.get(secretAccount(name)) !== null;
    } catch {
      return false;
    }
  }

  #stamp(): string {
    try {
      const stat = fs.statSync(path.join(this.#options.home, FORWARDERS_FILE));
      return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch {
      return 'none';
    }
  }

  #watchConfig(): void {
    this.#configTimer = this.#clock.setTimeout(() => {
      if (this.#closed) return;
      if (this.#stamp() !== this.#configStamp) this.reload();
      this.#watchConfig();
    }, this.#options.configPollMs ?? 1000);
  }

  #notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // a listener must not stop the others
      }
    }
  }
}
