/**
 * The engine's handler table in this process (AIRLOCK_ENGINE=inprocess in the app; the e2e
 * harness): ONE core and one table, and a caller of it for each page that connects — the same
 * per-caller rules as over the engine's socket (a page's screen frames, its control).
 */
import type { Airlock } from '../core/airlock.js';
import { AirlockError } from '../core/errors.js';
import { callerClient } from '../core/server/inprocess-client.js';
import { createEngineHandlers } from '../core/server/engine-handlers.js';
import type { Connect } from './engine-link.js';

function noEngineProcess(): never {
  throw new AirlockError('not_found', 'no engine process: Airlock runs in the app\'s own process (AIRLOCK_ENGINE=inprocess)', 'unset AIRLOCK_ENGINE to use the engine');
}

/** A connect that makes one more caller of the core's one table (closing it never closes the core). */
export function localEngine(airlock: Airlock): Connect {
  const table = createEngineHandlers(airlock, { 'engine.status': noEngineProcess, 'engine.stop': noEngineProcess, 'engine.retire': noEngineProcess });
  return () => Promise.resolve(callerClient(table, airlock.service));
}
