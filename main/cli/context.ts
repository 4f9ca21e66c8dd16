import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBus } from '../core/audit/bus.js';
import { EventFileSink } from '../core/audit/file-sink.js';
import { systemClock } from '../core/clock.js';
import { Engine } from '../core/engine/engine.js';
import { airlockHome, homeLayout, type HomeLayout } from '../core/home.js';
import { reapLeftovers, type ReapedTask } from '../core/tasks/reaper.js';

/** The objects one CLI invocation works with, wired once here (the CLI's composition root). */
export interface CliContext {
  home: HomeLayout;
  bus: EventBus;
  engine: Engine;
  assetsDir: string;
  /**
   * Removes leftovers of dead Airlock processes (once; later calls return the same promise).
   * Settles, never rejects: an unreachable engine is reported by the command itself.
   */
  reap(): Promise<ReapedTask[]>;
}

/** Every command that talks to the engine calls reap() at start, so each start cleans up after crashed runs. */
export function createContext(): CliContext {
  const home = homeLayout(airlockHome());
  const bus = new EventBus(systemClock);
  const sink = new EventFileSink(home.events);
  bus.subscribe((event) => sink.append(event));
  const engine = Engine.connect();
  let reaping: Promise<ReapedTask[]> | undefined;
  const reap = () => (reaping ??= reapLeftovers(engine, bus).catch(() => []));
  return { home, bus, engine, assetsDir: findAssetsDir(), reap };
}

/** assets/ ships beside the built CLI (out/cli) and beside the sources (main/cli). */
export function findAssetsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'assets');
    if (fs.existsSync(path.join(candidate, 'agents'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the assets folder next to the airlock CLI');
}
