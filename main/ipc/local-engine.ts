/**
 * The engine's handler table in this process (AIRLOCK_ENGINE=inprocess in the app; the e2e
 * harness): ONE core and one table, and a caller of it for each page that connects — the same
 * per-caller rules as over the engine's socket (a page's screen frames, its control).
 */
import type { Airlock } from '../core/airlock.js';
import { callerClient, inProcessHandlers } from '../core/server/inprocess-client.js';
import type { Connect } from './engine-link.js';

/** A connect that makes one more caller of the core's one table (closing it never closes the core). */
export function localEngine(airlock: Airlock): Connect {
  const table = inProcessHandlers(airlock, 'the app');
  return () => Promise.resolve(callerClient(table, airlock.service));
}
