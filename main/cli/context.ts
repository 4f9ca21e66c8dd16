import { EventBus } from '../core/audit/bus.js';
import { AuditStore } from '../core/audit/store.js';
import { openHeadSigner, recordBusInTrail } from '../core/audit/trail.js';
import { systemClock } from '../core/clock.js';
import { Keychain } from '../core/credentials/keychain.js';
import { Engine } from '../core/engine/engine.js';
import { Gateway } from '../core/gateway/gateway.js';
import { gatewayEnvironment } from '../core/gateway/pinned-hosts.js';
import { airlockHome, homeLayout, type HomeLayout } from '../core/home.js';
import { reapLeftovers, type ReapOutcome } from '../core/tasks/reaper.js';
import { findAssetsDir } from '../core/assets.js';
import { haltTasksWhenTrailFails, LiveTasks } from '../core/tasks/live-tasks.js';
import { err } from './stdout.js';

export { findAssetsDir } from '../core/assets.js';

/** The objects one CLI invocation works with, wired once here (the CLI's composition root). */
export interface CliContext {
  home: HomeLayout;
  bus: EventBus;
  engine: Engine;
  keychain: Keychain;
  assetsDir: string;
  /**
   * Opens the audit trail (its signing key is in the keychain) and records every event on the
   * bus in it. Throws keychain_unavailable when there is no keychain. Later calls return the same store.
   */
  audit(): AuditStore;
  /** The egress proxy for this process's tasks, started on first use. */
  gateway(): Gateway;
  /**
   * Removes leftovers of dead Airlock processes (once; later calls return the same promise).
   * Settles, never rejects: an unreachable engine is reported by the command itself.
   */
  reap(): Promise<ReapOutcome>;
  /** Waits for a reap under way and makes every recorded event durable. */
  close(): Promise<void>;
  /** The tasks this process runs (one registry for the whole process). */
  live: LiveTasks;
}

const open: CliContext[] = [];
/** Every task this CLI process runs: stopped together when the audit trail fails or Airlock itself does. */
export const liveTasks = new LiveTasks();

/** Every command that talks to the engine calls reap() at start, so each start cleans up after crashed runs. */
export function createContext(): CliContext {
  const home = homeLayout(airlockHome());
  const bus = new EventBus(systemClock);
  const engine = Engine.connect();
  const keychain = new Keychain();
  let store: AuditStore | undefined;
  const audit = () => {
    if (!store) {
      store = new AuditStore({ dir: home.audit, signer: openHeadSigner(keychain) });
      recordBusInTrail(bus, store);
      haltTasksWhenTrailFails(store, liveTasks);
      store.onTamper((record) => err(`airlock: the audit trail was changed by someone without its key: ${(record.data.findings as string[]).join('; ')}; it is set aside and recorded (see \`airlock audit verify\`)\n`));
    }
    return store;
  };
  let reaping: Promise<ReapOutcome> | undefined;
  const reap = () => (reaping ??= (async () => {
    try {
      // A reaped task's task.aborted event belongs in the trail; this process's own task records
      // are on disk first, since the reaper believes only what the trail says Airlock made.
      await audit().flush();
    } catch {
      // without a keychain (or a writable trail) the trail on disk still vouches for what it holds
    }
    return reapLeftovers(engine, bus, home.audit);
  })().catch(() => ({ reaped: [], leftAlone: [] })));
  let egress: Gateway | undefined;
  const gateway = () => (egress ??= new Gateway({ bus, clock: systemClock, ...gatewayEnvironment() }));
  const close = async () => {
    await reaping;
    await egress?.close();
    await store?.close();
  };
  const context: CliContext = { home, bus, engine, keychain, assetsDir: findAssetsDir(), audit, gateway, reap, close, live: liveTasks };
  open.push(context);
  return context;
}

/** Lets background clean-up finish and makes every recorded event durable before the CLI exits. */
export async function closeContexts(): Promise<void> {
  for (const context of open.splice(0)) await context.close();
}
