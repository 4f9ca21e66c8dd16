import path from 'node:path';
import { createAirlock, type Airlock, type AirlockOptions } from '../../main/core/airlock.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import type { Keychain } from '../../main/core/credentials/keychain.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { MemorySecrets } from './memory-secrets.js';
import { tempDir, waitFor } from './env.js';

/** A core with a warm pool (its keychain in memory), a runner that claims from it, and every event. */
export function pooledAirlock(options: AirlockOptions & { pool: NonNullable<AirlockOptions['pool']> }) {
  const home = options.home ?? path.join(tempDir(), 'home');
  const keychain = Object.assign(new MemorySecrets(), { service: 'airlock-test', probe: () => ({ ok: true, backend: 'memory', message: 'memory' }) }) as unknown as Keychain;
  const airlock: Airlock = createAirlock({ keychain, env: { ...process.env, AIRLOCK_HOME: home }, ...options, home });
  const events: AirlockEvent[] = [];
  airlock.bus.subscribe((e) => events.push(e));
  airlock.pool.fill(); // at once (the core's own first fill waits a moment on its clock, a fake one here)
  const runner = new TaskRunner({ engine: airlock.engine(), bus: airlock.bus, clock: airlock.clock, home: airlock.home, pool: airlock.pool });
  /** Waits until the pool holds `ready` slots and makes none; returns the ids of the ready slots, newest last. */
  const ready = async (count = airlock.pool.state().size): Promise<string[]> => {
    await waitFor(async () => (airlock.pool.state().ready === count && airlock.pool.state().filling === 0 ? true : undefined), `${count} pool slots`, 60_000);
    const discarded = new Set(events.filter((e) => e.kind === 'pool.discarded' || e.kind === 'pool.claimed').map((e) => e.task));
    return events.filter((e) => e.kind === 'pool.prepared' && !discarded.has(e.task)).map((e) => e.task);
  };
  return { airlock, events, runner, ready };
}

/** The engine objects still labelled as this task's (or slot's). */
export async function objectsOf(airlock: Airlock, task: string) {
  return (await listTaskObjects(airlock.engine())).find((t) => t.task === task);
}
