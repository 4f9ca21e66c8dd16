/**
 * A window's audit forwarder: its CA file, like a run's files, is named by a token of what the
 * person chose in that window (picked-files.ts), never by a path; main swaps it for the path and
 * asks the engine's `audit.forward.add`. The secret passes through to the engine untouched and
 * is never logged here.
 */
import type { ChannelArgs } from '../../preload/contract.js';
import type { Caller } from '../core/server/dispatch.js';
import type { EngineArgs } from '../core/server/engine-contract.js';
import type { EngineCalls } from './engine-link.js';
import type { PickedFiles } from './picked-files.js';
import type { Handle } from './register.js';

export function registerForwarderHandlers(handle: Handle, deps: { engine: EngineCalls; picks: PickedFiles }): void {
  const { engine, picks } = deps;
  handle('audit.forward.create', (settings, secret, caller) => engine.call(caller, 'audit.forward.add', withCaFile(settings, caller, picks), secret));
}

/** The window's forwarder with its CA token swapped for the path that window chose; refused when the token is not its own and live. */
export function withCaFile(settings: ChannelArgs<'audit.forward.create'>[0], caller: Caller, picks: PickedFiles): EngineArgs<'audit.forward.add'>[0] {
  const { ca, ...rest } = settings;
  return { ...rest, ...(ca ? { caFile: picks.resolve(caller, ca.token, 'CA file') } : {}) };
}
