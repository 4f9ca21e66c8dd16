/**
 * The one handler table of an engine: every channel of the engine's contract, answered over one
 * core. Made once per core and shared by all its callers (socket connections, in-process
 * clients), so per-caller state (screen watches, who has control) is one state.
 */
import type { Airlock } from '../airlock.js';
import { HandlerTable } from './dispatch.js';
import { engineContract, type EngineChannel, type EngineContract, type EngineHandlers, type SharedChannel } from './engine-contract.js';
import { serviceHandlers } from './service-handlers.js';

/** The engine-only channels' handlers: the process that runs the core knows how to answer them. */
export type EngineOnlyHandlers = Omit<EngineHandlers, SharedChannel>;

export function createEngineHandlers(airlock: Airlock, engineOnly: EngineOnlyHandlers): HandlerTable<EngineContract> {
  const table = new HandlerTable(engineContract);
  const handlers = { ...serviceHandlers(airlock.service), ...engineOnly } as EngineHandlers;
  for (const channel of Object.keys(handlers) as EngineChannel[]) table.handle(channel, handlers[channel] as never);
  table.assertComplete();
  return table;
}
