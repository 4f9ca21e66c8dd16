/**
 * The run dialog's host files: the window-only `run.pick*` channels show the OS dialogs here, in the
 * main process, `run.drop` takes the paths the preload read off dropped files, and each answers
 * tokens (picked-files.ts). A window's `run.start` names files by those tokens alone: main swaps
 * them for the paths that window chose and asks the engine to run with them.
 */
import type { ChannelArgs, PickedFile } from '../../preload/contract.js';
import { AirlockError } from '../core/errors.js';
import type { EngineArgs } from '../core/server/engine-contract.js';
import type { Caller } from '../core/server/dispatch.js';
import type { EngineCalls } from './engine-link.js';
import type { PickedFiles } from './picked-files.js';
import type { Handle } from './register.js';

/** The run dialog's OS dialogs, shown by the main process. undefined / [] = the person cancelled. */
export interface RunDialogs {
  chooseProject(): Promise<string | undefined>;
  chooseInputs(folders: boolean): Promise<string[]>;
  chooseOutputDir(): Promise<string | undefined>;
}

/** Where no OS dialog can be shown: choosing refuses, saying so (a drop still works). */
export const NO_RUN_DIALOGS: RunDialogs = {
  chooseProject: noDialog, chooseInputs: noDialog, chooseOutputDir: noDialog,
};

function noDialog(): never {
  throw new AirlockError('internal', 'this window cannot show the OS file dialogs', 'drop the files on the run dialog instead');
}

export function registerRunFileHandlers(handle: Handle, deps: { engine: EngineCalls; dialogs: RunDialogs; picks: PickedFiles }): void {
  const { engine, dialogs, picks } = deps;
  const one = (caller: Caller, chosen: string | undefined): PickedFile | null => (chosen === undefined ? null : picks.add(caller, chosen));
  handle('run.pickProject', async (caller) => one(caller, await dialogs.chooseProject()));
  handle('run.pickInputs', async ({ folders }, caller) => (await dialogs.chooseInputs(folders)).map((chosen) => picks.add(caller, chosen)));
  handle('run.pickOutput', async (caller) => one(caller, await dialogs.chooseOutputDir()));
  handle('run.drop', (paths, caller) => paths.map((dropped) => picks.add(caller, dropped)));
  handle('run.start', (request, caller) => engine.call(caller, 'tasks.run', withHostPaths(request, caller, picks)));
}

/** A window's run with each token swapped for the path that window chose; refused when any token is not its own and live. */
export function withHostPaths(request: ChannelArgs<'run.start'>[0], caller: Caller, picks: PickedFiles): EngineArgs<'tasks.run'>[0] {
  const { project, inputs, outputDir, ...settings } = request;
  return {
    ...settings,
    ...(project ? { project: { hostPath: picks.resolve(caller, project.token, 'project') } } : {}),
    ...(inputs?.length ? {
      inputs: inputs.map(({ token, containerPath }, index) => ({
        hostPath: picks.resolve(caller, token, `input ${index + 1}`), ...(containerPath !== undefined ? { containerPath } : {}),
      })),
    } : {}),
    ...(outputDir ? { outputDir: picks.resolve(caller, outputDir.token, 'output folder') } : {}),
  };
}
