import fs from 'node:fs';
import path from 'node:path';
import { makeChangeBundle, type BundleLimits } from '../changes/branch-bundle.js';
import { fetchChangeBranch } from '../changes/branch-fetch.js';
import type { ProjectBase } from '../changes/base.js';
import type { Engine } from '../engine/engine.js';
import { BASE_IMAGE } from '../images/image-names.js';
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
  /** For the branch of a git project at the end (without it: no branch, the patch only). */
  branch?: { engine: Engine; task: string; labels: Record<string, string>; limits?: BundleLimits };
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
      ...(options.branch ? { branch: changeBranchMaker(sandbox, spec, options.taskDir, options.branch) } : {}),
      emit,
    });
  } catch (error) {
    emit('changes.refused', { reason: `the change could not be collected: ${(error as Error).message}` });
    return undefined;
  } finally {
    fs.rmSync(path.join(options.taskDir, 'change.bundle.partial'), { force: true });
  }
}

/** Bundles the agent's repository in a throwaway container, then fetches it into the user's repository. */
function changeBranchMaker(sandbox: Sandbox, spec: TaskSpec, taskDir: string, deps: NonNullable<Parameters<typeof collectTaskChange>[0]['branch']>) {
  return async (base: ProjectBase): Promise<{ bundle: string; branch: string } | { refused: string } | undefined> => {
    const folder = spec.project?.to ?? spec.workdir;
    const archive = await sandbox.archive(folder);
    if (!archive) return { refused: 'the project folder is gone from the workspace' };
    const bundle = path.join(taskDir, 'change.bundle.partial'); // storeChange copies it; collectTaskChange removes it
    {
      const made = await makeChangeBundle({
        engine: deps.engine, image: BASE_IMAGE, archive, folder: path.posix.basename(folder), baseHead: base.head,
        task: deps.task, labels: deps.labels, outFile: bundle, ...(deps.limits ? { limits: deps.limits } : {}),
      });
      if (!made.made) return made.reason ? { refused: made.reason } : undefined;
      try {
        const branch = await fetchChangeBranch(base.hostPath, bundle, deps.task);
        return { bundle, branch };
      } catch (error) {
        return { refused: `the branch could not be fetched into ${base.hostPath}: ${firstLine((error as Error).message)}` };
      }
    }
  };
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '' && !line.startsWith('Command failed'))?.slice(0, 300) ?? text.slice(0, 300);
}

/**
 * One task's change collections, one at a time: live ones while it runs (`airlock diff`, the app's
 * Changes tab), then the final one at its end — which waits for a live one under way, so a live
 * collection never lands after (and over) the final change.
 */
export class TaskChangeCollector {
  readonly #options: Omit<Parameters<typeof collectTaskChange>[0], 'live' | 'branch'>;
  readonly #branch: Parameters<typeof collectTaskChange>[0]['branch'];
  #queue: Promise<unknown> = Promise.resolve();
  #final = false;

  constructor(options: Omit<Parameters<typeof collectTaskChange>[0], 'live'>) {
    const { branch, ...rest } = options;
    this.#options = rest;
    this.#branch = branch;
  }

  /** What the agent has changed so far (stored as a live change); nothing once the final one is under way. */
  live(): Promise<void> {
    if (this.#final) return this.#queue.then(() => undefined);
    const next = this.#queue.then(() => (this.#final ? undefined : collectTaskChange({ ...this.#options, live: true })));
    this.#queue = next.catch(() => undefined);
    return next.then(() => undefined);
  }

  /** The change at the task's end, with the branch of a git project. */
  final(): Promise<StoredChange | undefined> {
    this.#final = true;
    const next = this.#queue.then(() => collectTaskChange({ ...this.#options, live: false, ...(this.#branch ? { branch: this.#branch } : {}) }));
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
