/**
 * The one client of Airlock's engine a CLI process holds: every command asks the engine (or, with
 * AIRLOCK_ENGINE=inprocess, the core in this process) through it. Nothing is wired here:
 * core/airlock.ts createAirlock is the only composition root.
 */
import type { EngineClient } from '../core/server/client.js';
import { connectEngine } from '../core/server/connect.js';

let connecting: Promise<EngineClient> | undefined;

/** The engine's client, connected on first use (later calls return the same one). */
export function engine(): Promise<EngineClient> {
  return (connecting ??= connectEngine({ env: process.env }));
}

/**
 * Ends this process's client: tasks it started attached are stopped, and in in-process mode
 * every running task is torn down and every recorded event made durable before the CLI exits.
 */
export async function closeEngine(): Promise<void> {
  const client = connecting;
  connecting = undefined;
  if (client) await (await client).close();
}
