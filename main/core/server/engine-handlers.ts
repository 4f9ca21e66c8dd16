/**
 * The one handler table of an engine: every channel of the engine's contract, answered over one
 * core. Made once per core and shared by all its callers (socket connections, in-process
 * clients), so per-caller state (screen watches, who has control) is one state.
 */
import type { Airlock } from '../airlock.js';
import { HandlerTable } from './dispatch.js';
import { engineContract, type EngineChannel, type EngineContract, type EngineHandlers, type SharedChannel } from './engine-contract.js';
import { serviceHandlers } from './service-handlers.js';

/** The engine-only channels the process running the core answers itself (its own status, stopping it). */
export type ProcessHandlers = Pick<EngineHandlers, 'engine.status' | 'engine.stop' | 'engine.retire'>;

/** The engine-only channels answered by the core. */
function coreHandlers(airlock: Airlock): Omit<EngineHandlers, SharedChannel | keyof ProcessHandlers> {
  return {
    'agents.openFile': (file) => airlock.service.openAgent(file),
    'audit.exportTo': ({ file, format, task }) => airlock.service.exportAudit(file, format, task),
  };
}

export function createEngineHandlers(airlock: Airlock, processHandlers: ProcessHandlers): HandlerTable<EngineContract> {
  const table = new HandlerTable(engineContract);
  const handlers = { ...serviceHandlers(airlock.service), ...coreHandlers(airlock), ...processHandlers } as EngineHandlers;
  for (const channel of Object.keys(handlers) as EngineChannel[]) table.handle(channel, handlers[channel] as never);
  table.assertComplete();
  return table;
}
