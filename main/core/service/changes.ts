/**
 * The use cases on a task's stored change (`airlock diff/apply/discard`): show it, apply it to the
 * user's project (checked, all or nothing), drop it. Applying and discarding are recorded in the
 * trail (`changes.applied`, `changes.discarded`) before the call returns.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { EventBus } from '../audit/bus.js';
import { AirlockError } from '../errors.js';
import type { HomeLayout } from '../home.js';
import { changePaths, readBlob, readStoredChange, type ChangeFile } from './change-files.js';
import { planChange, type ModeNotice } from './change-plan.js';
import { writeChange } from './change-write.js';

/** What `changes.get` returns: the change as stored, its patch checked against the recorded hash. */
export interface TaskChange {
  task: string;
  /** The user's folder the change is against. */
  project: string;
  git: boolean;
  head?: string;
  files: ChangeFile[];
  added: number;
  removed: number;
  patch: string;
  patchSha256: string;
  branch?: string;
  appliedAt?: string;
}

export interface ApplyResult {
  task: string;
  project: string;
  /** Files written, created, renamed to or removed, relative to the project. */
  files: string[];
  /** Files merged with the user's own edits (`--3way`). */
  merged: string[];
  /** Mode bits the change asked for and did not get. */
  notices: ModeNotice[];
}

export interface ChangeDeskDeps {
  home: HomeLayout;
  bus: EventBus;
  /** Makes the trail durable; rejects when it cannot (then the call fails, and says so). */
  flushAudit: () => Promise<void>;
  /** Opens the audit trail (throws without one): nothing is applied that the trail could not record. */
  openAudit: () => unknown;
  /** The running tasks: one with a project has its change collected anew when asked (a live change). */
  live?: { get(task: string): { collectChange?: () => Promise<void> } | undefined };
}

export class ChangeDesk {
  readonly #deps: ChangeDeskDeps;

  constructor(deps: ChangeDeskDeps) {
    this.#deps = deps;
  }

  /** The task's change as it is now: collected anew from its sandbox while it runs, else the stored one. */
  async current(task: string): Promise<TaskChange> {
    await this.#deps.live?.get(task)?.collectChange?.();
    return this.get(task);
  }

  get(task: string): TaskChange {
    const stored = readStoredChange(task, changePaths(this.#deps.home.task(task)));
    const { base, summary } = stored;
    return {
      task, project: base.hostPath, git: base.git, ...(base.head ? { head: base.head } : {}),
      files: summary.files, added: summary.added, removed: summary.removed, patch: stored.patch, patchSha256: summary.patchSha256,
      ...(summary.branch ? { branch: summary.branch } : {}), ...(stored.applied ? { appliedAt: stored.applied.at } : {}),
    };
  }

  async apply(task: string, threeWay: boolean): Promise<ApplyResult> {
    const paths = changePaths(this.#deps.home.task(task));
    const change = readStoredChange(task, paths);
    if (change.applied) throw new AirlockError('bad_argument', `the change of task ${task} was applied already (${change.applied.at})`);
    const root = change.base.hostPath;
    if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new AirlockError('not_found', `the project folder ${root} is gone`);
    this.#deps.openAudit();
    const { head } = change.base;
    const plan = planChange({
      root, change, threeWay,
      blob: (hash) => readBlob(paths, hash, task),
      ...(change.base.git && head ? { baseContent: (file: string) => committedContent(root, head, file) } : {}),
    });
    writeChange(root, plan.operations);
    const at = new Date().toISOString();
    fs.writeFileSync(paths.applied, `${JSON.stringify({ at })}\n`, { mode: 0o600 });
    const files = [...new Set(plan.operations.map((o) => o.path))];
    this.#record(task, 'changes.applied', { project: root, files: files.length, patchSha256: change.summary.patchSha256, threeWay, merged: plan.merged, modeNotices: plan.notices });
    await this.#deps.flushAudit();
    return { task, project: root, files, merged: plan.merged, notices: plan.notices };
  }

  async discard(task: string): Promise<void> {
    const paths = changePaths(this.#deps.home.task(task));
    if (!fs.existsSync(paths.changes)) throw new AirlockError('not_found', `task ${task} has no stored change`);
    this.#deps.openAudit();
    // The hash the trail recorded, so the record says which change was dropped (a damaged one is dropped all the same).
    let patchSha256: string | undefined;
    try {
      patchSha256 = readStoredChange(task, paths).summary.patchSha256;
    } catch {
      patchSha256 = undefined;
    }
    fs.rmSync(paths.changes, { recursive: true, force: true });
    this.#record(task, 'changes.discarded', { ...(patchSha256 ? { patchSha256 } : {}) });
    await this.#deps.flushAudit();
  }

  #record(task: string, kind: 'changes.applied' | 'changes.discarded', data: Record<string, unknown>): void {
    this.#deps.bus.emit({ task, agent: { name: 'airlock', digest: '' }, actor: 'user', kind, data });
  }
}

/**
 * A file as the snapshot's commit has it, read from the user's own repository (never the agent's
 * copy): `cat-file` runs no filters or hooks. Undefined when the commit does not have it.
 */
function committedContent(root: string, head: string, file: string): Buffer | undefined {
  try {
    return execFileSync('git', ['-C', root, 'cat-file', 'blob', `${head}:${file}`], { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}
