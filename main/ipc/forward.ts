/**
 * The window's channels, answered by Airlock's engine: every shared channel is forwarded as it is
 * (the engine checks its arguments again: it trusts no client); the two that show an OS dialog show
 * it here, in the main process, and then ask the engine for the file the person chose
 * (`agents.openFile`, `audit.exportTo`) — the renderer never names a file; the run dialog's files
 * are chosen the same way and named by tokens (run-files.ts), and so is an audit forwarder's CA file
 * (forwarders.ts). The registrar (register.ts)
 * has checked the sender and the arguments before any of these runs.
 */
import type { Caller } from '../core/server/dispatch.js';
import { sharedContract, type EngineArgs, type SharedChannel } from '../core/server/engine-contract.js';
import { registerArtifactHandlers, type ArtifactFilePorts } from './artifacts.js';
import { registerChangeHandlers } from './changes.js';
import { registerContextHandlers } from './contexts.js';
import { registerForwarderHandlers } from './forwarders.js';
import type { EngineCalls } from './engine-link.js';
import { PickedFiles } from './picked-files.js';
import type { Handle, Handler } from './register.js';
import { NO_RUN_DIALOGS, registerRunFileHandlers, type RunDialogs } from './run-files.js';

/** The OS file dialogs, shown by the main process. undefined = the person cancelled. */
export interface Dialogs {
  chooseManifest(): Promise<string | undefined>;
  chooseExportFile(defaultName: string): Promise<string | undefined>;
}

export interface ForwardingDeps {
  engine: EngineCalls;
  dialogs: Dialogs;
  /** The save dialog and file manager of the Artifacts tab; without them its Save and Reveal are refused. */
  artifactFiles?: ArtifactFilePorts;
  /** The run dialog's OS dialogs (project, inputs, output folder); without them those channels refuse. */
  runDialogs?: RunDialogs;
  /** The host files each window chose for a run, behind tokens (default: expiring by the system clock). */
  picks?: PickedFiles;
  /** The environment the engine is started with, for the Docker context switch (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export function registerForwardingHandlers(handle: Handle, deps: ForwardingDeps): void {
  const { engine, dialogs, runDialogs = NO_RUN_DIALOGS, picks = new PickedFiles({ now: Date.now }) } = deps;
  for (const channel of Object.keys(sharedContract) as SharedChannel[]) {
    const forward = (...argsThenCaller: unknown[]) => {
      const caller = argsThenCaller.pop() as Caller;
      return engine.call(caller, channel, ...(withoutTrailingUndefined(argsThenCaller) as EngineArgs<typeof channel>));
    };
    handle(channel, forward as unknown as Handler<typeof channel>);
  }

  handle('agents.open', async (caller) => {
    const file = await dialogs.chooseManifest();
    return file === undefined ? null : engine.call(caller, 'agents.openFile', file);
  });
  handle('audit.export', async ({ format, task }, caller) => {
    const file = await dialogs.chooseExportFile(`airlock-audit${task ? `-${task}` : ''}.${format}`);
    return file === undefined ? null : engine.call(caller, 'audit.exportTo', { file, format, ...(task ? { task } : {}) });
  });
  registerChangeHandlers(handle, engine);
  registerContextHandlers(handle, { engine, env: deps.env ?? process.env });
  registerArtifactHandlers(handle, engine, deps.artifactFiles);
  registerRunFileHandlers(handle, { engine, dialogs: runDialogs, picks });
  registerForwarderHandlers(handle, { engine, picks });
}

/** An optional argument left out stays left out on the wire (where undefined would become null). */
function withoutTrailingUndefined(args: unknown[]): unknown[] {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  return args.slice(0, end);
}
