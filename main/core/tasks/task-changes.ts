import path from 'node:path';
import { collectChange } from '../changes/collect.js';
import type { StoredChange } from '../changes/store.js';
import { DEFAULT_WORKING_COPY_LIMITS, type WorkingCopyLimits } from '../changes/working-copy.js';
import type { Sandbox } from '../engine/sandbox.js';
import type { TaskSpec } from './spec.js';

/**
 * The agent's change to its project (its copy at spec.project.to), collected
 * from the stopped container at the end, or from the running one on demand (`live`). Never throws:
 * what cannot be collected is a `changes.refused` event, and the task ends as it would have.
 */
export async function collectTaskChange(options: {
  sandbox: Sandbox;
  spec: TaskSpec;
  taskDir: string;
  live: boolean;
  limits?: WorkingCopyLimits;
  emit: (kind: 'task.changes' | 'changes.refused', data: Record<string, unknown>) => void;
}): Promise<StoredChange | undefined> {
  const { sandbox, spec, emit } = options;
  const given = options.limits ?? DEFAULT_WORKING_COPY_LIMITS;
  try {
    return await collectChange({
      // The project's copy (`--project`), else the workdir (a base snapshot made some other way).
      archive: () => sandbox.archive(spec.project?.to ?? spec.workdir),
      projectDir: path.join(options.taskDir, 'project'),
      changesDir: path.join(options.taskDir, 'changes'),
      // Never more than the workspace could hold.
      limits: { ...given, maxBytes: Math.min(given.maxBytes, spec.limits.diskBytes) },
      live: options.live,
      emit,
    });
  } catch (error) {
    emit('changes.refused', { reason: `the change could not be collected: ${(error as Error).message}` });
    return undefined;
  }
}
