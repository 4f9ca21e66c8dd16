/**
 * The preload: runs sandboxed, in the isolated world, before the renderer's own scripts.
 *
 * It exposes `window.airlock` with exactly one named function per contract channel and nothing
 * else — no generic invoke/send, no ipcRenderer, no event objects — so a compromised renderer can
 * only ask for what the contract allows (and main/ipc still checks every call).
 *
 * Functions resolve to the contract's envelope rather than throwing: contextBridge rebuilds thrown
 * errors from their message alone, so `code` and `hint` would not survive the crossing.
 * renderer/src/lib/api.ts unwraps the envelope into a typed error on the page's side.
 *
 * Only types come from ./contract.js, so this bundle stays small and needs no other file.
 */
import { contextBridge, ipcRenderer } from 'electron';
import type { AirlockBridge, Channel, ChannelArgs, ChannelResult, ErrorEnvelope } from './contract.js';

function invoke<C extends Channel>(channel: C, ...args: ChannelArgs<C>): Promise<ErrorEnvelope<ChannelResult<C>>> {
  return ipcRenderer.invoke(channel, ...args) as Promise<ErrorEnvelope<ChannelResult<C>>>;
}

// Typed as AirlockBridge: the compiler rejects a missing channel, an extra one, or a wrong signature.
const bridge: AirlockBridge = {
  app: {
    version: () => invoke('app.version'),
  },
  doctor: {
    run: () => invoke('doctor.run'),
  },
};

contextBridge.exposeInMainWorld('airlock', bridge);
