import path from 'node:path';
import { baseContent, readBase, type ProjectBase } from './base.js';
import { computeChange } from './diff.js';
import { storeChange, type StoredChange } from './store.js';
import { readWorkingCopy, type WorkingCopyLimits } from './working-copy.js';

/** At most this many `changes.refused` events per collection; the rest are counted in change.json. */
const MAX_REFUSAL_EVENTS = 50;

export interface CollectChangeOptions {
  /** The engine's archive of the project folder in the workspace (undefined: the folder is gone). */
  archive: () => Promise<NodeJS.ReadableStream | undefined>;
  /** `AIRLOCK_HOME/tasks/<task>/project` (base.json) and `…/changes`. */
  projectDir: string;
  changesDir: string;
  limits: WorkingCopyLimits;
  live: boolean;
  /**
   * For a git project at the task's end: makes `change.bundle` (a file under the returned path) and
   * fetches it as a branch into the user's repository. A reason instead when it could not.
   */
  branch?: (base: ProjectBase) => Promise<{ bundle: string; branch: string } | { refused: string } | undefined>;
  emit: (kind: 'task.changes' | 'changes.refused', data: Record<string, unknown>) => void;
}

/**
 * Collects the agent's change to its project: the working copy is read from the workspace (bounded),
 * compared with the base snapshot, stored, and recorded as `task.changes` with the patch's sha256
 * (so `audit verify` vouches for the stored patch). Returns undefined when the task took no project
 * or no change could be made (then a `changes.refused` event says why: nothing partial is stored).
 */
export async function collectChange(options: CollectChangeOptions): Promise<StoredChange | undefined> {
  const { emit } = options;
  const base = readBase(options.projectDir);
  if (!base) return undefined;
  const archive = await options.archive();
  if (!archive) {
    emit('changes.refused', { reason: 'the project folder is gone from the workspace: no change was collected' });
    return undefined;
  }
  const working = await readWorkingCopy(archive, options.limits);
  if (working.overLimit) {
    emit('changes.refused', { reason: `${working.overLimit}: no change was collected (a partial one would delete what was not read)` });
    return undefined;
  }
  const change = computeChange(base.files, working.files, (file) => baseContent(options.projectDir, base, file));
  const branch = base.git && !options.live && options.branch ? await options.branch(base) : undefined;
  if (branch && 'refused' in branch) emit('changes.refused', { reason: `no branch: ${branch.refused}` });
  const made = branch && 'branch' in branch ? branch : undefined;
  const stored = storeChange(options.changesDir, change, { live: options.live, refused: working.refused, ...(made ? { branch: made.branch, bundle: made.bundle } : {}) });
  for (const refusal of working.refused.slice(0, MAX_REFUSAL_EVENTS)) emit('changes.refused', { path: refusal.path, reason: refusal.reason });
  if (working.refused.length > MAX_REFUSAL_EVENTS) emit('changes.refused', { reason: `${working.refused.length - MAX_REFUSAL_EVENTS} more refusals: see change.json` });
  emit('task.changes', {
    files: stored.files.length, added: stored.added, removed: stored.removed, patchSha256: stored.patchSha256,
    live: options.live, ...(made ? { branch: made.branch } : {}), patch: path.join(options.changesDir, 'change.patch'),
  });
  return stored;
}
