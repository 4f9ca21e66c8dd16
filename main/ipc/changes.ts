/**
 * A window's `review.*` channels: the engine's `changes.*` (engine-contract.ts), with every host path left
 * out of what the renderer gets. The project is named by its folder's name alone; files are relative
 * to it (the engine has checked each is a safe relative path).
 */
import path from 'node:path';
import type { AppliedChange, ChangeView } from '../../preload/contract.js';
import type { ApplyResult, TaskChange } from '../core/service/changes.js';
import type { EngineCalls } from './engine-link.js';
import type { Handle } from './register.js';

export function changeView(change: TaskChange): ChangeView {
  const { project, ...rest } = change;
  return { ...rest, projectName: path.basename(project) };
}

export function appliedChange(result: ApplyResult): AppliedChange {
  const { project: _project, ...rest } = result;
  return rest;
}

export function registerChangeHandlers(handle: Handle, engine: EngineCalls): void {
  handle('review.get', async (task, caller) => changeView(await engine.call(caller, 'changes.get', task)));
  handle('review.apply', async (request, caller) => appliedChange(await engine.call(caller, 'changes.apply', request)));
  handle('review.discard', (task, caller) => engine.call(caller, 'changes.discard', task));
}
