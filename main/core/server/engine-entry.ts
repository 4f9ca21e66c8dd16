/**
 * What only a process running the core needs: the engine process itself, and the in-process
 * client (AIRLOCK_ENGINE=inprocess). The CLI bundles this apart (out/cli/engine.cjs) and loads it
 * only then, so a command that is a client of a running engine does not load the core.
 */
import { createAirlock } from '../airlock.js';
import type { EngineClient } from './client.js';
import { inProcessClient } from './inprocess-client.js';

export { runEngineProcess } from './engine-main.js';

/** A client of a core made in this process, for `env`. */
export function inProcessEngine(env: NodeJS.ProcessEnv): EngineClient {
  return inProcessClient(createAirlock({ env }));
}
