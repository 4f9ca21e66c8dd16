/**
 * STUB (the CLI helper's, until the engine helper's socket version replaces it at merge): how a
 * client gets its EngineClient. The real version connects to the user's engine socket (starting
 * the engine when none runs); this one always runs the core in the client's own process, as
 * AIRLOCK_ENGINE=inprocess will.
 */
import { createAirlock } from '../airlock.js';
import type { EngineClient } from './client.js';
import { inProcessClient } from './inprocess-client.js';

/** How to start the engine process (the CLI: its own node and bundle; the app: Electron as node). */
export interface EngineSpawn {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export function connectEngine(options: { env?: NodeJS.ProcessEnv; start?: boolean; spawn?: EngineSpawn } = {}): Promise<EngineClient> {
  return Promise.resolve(inProcessClient(createAirlock({ env: options.env ?? process.env })));
}
