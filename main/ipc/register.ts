/**
 * The one way to answer IPC: `handle(channel, handler)`, typed by the contract. Every call goes
 * sender check → argument schema → handler → envelope, so no handler can skip a step and no
 * error leaves the main process as anything but `{ ok: false, error: { code, message, hint } }`.
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { invokeContract, logToConsole, type Caller } from '../core/server/dispatch.js';
import { channels, contract, type Channel, type ChannelArgs, type ChannelResult, type ErrorEnvelope } from '../../preload/contract.js';
import { callerOf } from './caller.js';

/** The channel's checked arguments, then who called (for the few handlers whose pushes belong to the caller alone). */
export type Handler<C extends Channel> = (...args: [...ChannelArgs<C>, caller: Caller]) => ChannelResult<C> | Promise<ChannelResult<C>>;
export type Handle = <C extends Channel>(channel: C, handler: Handler<C>) => void;

/** Who may call: only the main frame of a window we created, showing our own page. */
export interface SenderPolicy {
  isOwnWebContents(contents: IpcMainInvokeEvent['sender']): boolean;
  isAppUrl(url: string): boolean;
}

export interface IpcRegistrar {
  handle: Handle;
  /** Throws unless every contract channel has a handler, so a missing one fails at startup. */
  assertAllChannelsHandled(): void;
}

export function createIpcRegistrar(
  ipc: Pick<IpcMain, 'handle'>,
  policy: SenderPolicy,
  log: (message: string, error?: unknown) => void = logToConsole,
): IpcRegistrar {
  const handled = new Set<Channel>();
  const handle: Handle = (channel, handler) => {
    if (handled.has(channel)) throw new Error(`IPC channel ${channel} already has a handler`);
    handled.add(channel);
    ipc.handle(channel, (event, ...rawArgs: unknown[]) => dispatch(channel, handler, event, rawArgs, policy, log));
  };
  return {
    handle,
    assertAllChannelsHandled() {
      const missing = channels.filter((channel) => !handled.has(channel));
      if (missing.length > 0) throw new Error(`IPC channels without a handler: ${missing.join(', ')}`);
    },
  };
}

/** Why the sender may not call, or null when it may. */
export function senderRefusal(event: IpcMainInvokeEvent, policy: SenderPolicy): string | null {
  const frame = event.senderFrame;
  if (!frame) return 'the sending frame is gone';
  if (frame.parent !== null) return 'the sender is a subframe';
  if (!policy.isOwnWebContents(event.sender)) return 'the sender is not an Airlock window';
  if (!policy.isAppUrl(frame.url)) return `the sender's page (${frame.url}) is not Airlock's`;
  return null;
}

async function dispatch<C extends Channel>(
  channel: C,
  handler: Handler<C>,
  event: IpcMainInvokeEvent,
  rawArgs: unknown[],
  policy: SenderPolicy,
  log: (message: string, error?: unknown) => void,
): Promise<ErrorEnvelope<ChannelResult<C>>> {
  const refusal = senderRefusal(event, policy);
  if (refusal !== null) {
    log(`IPC ${channel} refused: ${refusal}`);
    return { ok: false, error: { code: 'forbidden', message: `${channel} refused: ${refusal}` } };
  }
  return invokeChecked(channel, handler, rawArgs, callerOf(event.sender), log);
}

/**
 * Schema check → handler → envelope, for a caller whose sender was already checked (the same
 * dispatch the engine's socket uses: main/core/server/dispatch.ts).
 */
export function invokeChecked<C extends Channel>(
  channel: C,
  handler: Handler<C>,
  rawArgs: unknown[],
  caller: Caller,
  log: (message: string, error?: unknown) => void = logToConsole,
): Promise<ErrorEnvelope<ChannelResult<C>>> {
  return invokeContract(contract, channel, handler as never, rawArgs, caller, log, 'IPC ') as Promise<ErrorEnvelope<ChannelResult<C>>>;
}
