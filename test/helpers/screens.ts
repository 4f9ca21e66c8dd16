/**
 * For tests of what the app does with a live screen when the screen itself is not under test: a
 * small LiveScreen that shows what the test tells it to, and a real AirlockService (real bus, real
 * ScreenRegistry, real audit trail in a fresh AIRLOCK_HOME) that needs no engine or keychain.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AgentRef } from '../../main/core/audit/events.js';
import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import { AuditStore } from '../../main/core/audit/store.js';
import { recordBusInTrail } from '../../main/core/audit/trail.js';
import { systemClock } from '../../main/core/clock.js';
import { ScreenRegistry } from '../../main/core/desktop/screen-registry.js';
import type { CaptureReason, LiveScreen, ScreenFrame, ScreenInput, ScreenshotInfo } from '../../main/core/desktop/types.js';
import { AirlockError } from '../../main/core/errors.js';
import { homeLayout } from '../../main/core/home.js';
import { AirlockService } from '../../main/core/service/service.js';
import { tempDir } from './env.js';

export const AGENT: AgentRef = { name: 'browser', digest: 'sha256:feed' };

/** A solid-colour PNG. */
export function solidPng(width: number, height: number, rgb: [number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) png.data.set([...rgb, 255], i * 4);
  return PNG.sync.write(png);
}

/** A LiveScreen double: the whole screen first on every watch, then the regions `show` is given. */
export class FakeScreen implements LiveScreen {
  readonly width: number;
  readonly height: number;
  readonly inputs: ScreenInput[] = [];
  readonly #watchers = new Map<(frame: ScreenFrame) => void, { seq: number }>();
  #task: string;
  closed = false;

  constructor(task: string, width = 1280, height = 800) {
    this.#task = task;
    this.width = width;
    this.height = height;
  }

  get watchers(): number {
    return this.#watchers.size;
  }

  watch(listener: (frame: ScreenFrame) => void): () => void {
    const state = { seq: 0 };
    this.#watchers.set(listener, state);
    listener(this.#frame(state, 0, 0, this.width, this.height, [32, 32, 32]));
    return () => this.#watchers.delete(listener);
  }

  /** A changed region, to every watcher. */
  show(x: number, y: number, w: number, h: number, rgb: [number, number, number]): void {
    for (const [listener, state] of this.#watchers) listener(this.#frame(state, x, y, w, h, rgb));
  }

  capture(): Promise<{ png: Buffer; width: number; height: number }> {
    return Promise.resolve({ png: solidPng(this.width, this.height, [32, 32, 32]), width: this.width, height: this.height });
  }

  lastChangeAt(): number {
    return Date.now();
  }

  input(event: ScreenInput): void {
    this.inputs.push(event);
  }

  close(): void {
    this.closed = true;
    this.#watchers.clear();
  }

  #frame(state: { seq: number }, x: number, y: number, w: number, h: number, rgb: [number, number, number]): ScreenFrame {
    state.seq += 1;
    return { task: this.#task, seq: state.seq, width: this.width, height: this.height, x, y, w, h, png: solidPng(w, h, rgb), at: Date.now() };
  }
}

/** A real service over a real bus, registry and audit trail; engine, keychain and gateway refuse. */
export function screenService() {
  const root = tempDir('airlock-screen-');
  const home = homeLayout(path.join(root, 'home'));
  const bus = new EventBus(systemClock);
  const store = new AuditStore({ dir: home.audit, signer: ephemeralHeadSigner() });
  recordBusInTrail(bus, store);
  const screens = new ScreenRegistry(bus);
  const unavailable = () => {
    throw new AirlockError('engine_unavailable', 'not in this test');
  };
  const service = new AirlockService({
    engine: unavailable, bus, audit: () => store, gateway: unavailable, home, assetsDir: path.join(root, 'assets'),
    keychain: {} as never, clock: systemClock, screens, user: 'alice',
  });

  /** What the recorder does: the PNG in the task's folder and a screen.capture event in the trail. */
  const recordShot = (task: string, index: number, reason: CaptureReason, png: Buffer, extra: Partial<ScreenshotInfo> = {}): ScreenshotInfo => {
    const file = `screens/${String(index).padStart(4, '0')}.png`;
    fs.mkdirSync(path.join(home.task(task), 'screens'), { recursive: true });
    fs.writeFileSync(path.join(home.task(task), file), png);
    const info: ScreenshotInfo = {
      index, time: new Date().toISOString(), reason, width: 1280, height: 800, bytes: png.length,
      sha256: createHash('sha256').update(png).digest('hex'), file, ...extra,
    };
    bus.emit({ task, agent: AGENT, actor: 'airlock', kind: 'screen.capture', data: { ...info } });
    return info;
  };

  return {
    root, home, bus, store, screens, service, recordShot,
    close: async () => {
      await service.close();
      await store.close();
    },
  };
}
