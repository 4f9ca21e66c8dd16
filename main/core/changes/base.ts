import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** One file of the project as it was copied in (tasks/project-copy.ts writes them to `project/base.json`): what a change is computed against. */
export interface BaseFile {
  path: string;
  mode: number;
  sha256: string;
  size: number;
  /** A symlink's target (its "content"). */
  symlink?: string;
}

/** `AIRLOCK_HOME/tasks/<task>/project/base.json`. */
export interface ProjectBase {
  hostPath: string;
  /** Where the working copy is in the sandbox. */
  containerPath: string;
  git: boolean;
  head?: string;
  files: BaseFile[];
}

/** The task's base snapshot, or undefined when the task took no project. A malformed one is an error. */
export function readBase(projectDir: string): ProjectBase | undefined {
  const file = path.join(projectDir, 'base.json');
  if (!fs.existsSync(file)) return undefined;
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ProjectBase>;
  if (typeof raw.hostPath !== 'string' || typeof raw.containerPath !== 'string' || !Array.isArray(raw.files)) throw new Error(`${file} is not a project base (hostPath, containerPath, files)`);
  for (const entry of raw.files) {
    if (typeof entry.path !== 'string' || typeof entry.sha256 !== 'string' || typeof entry.mode !== 'number') throw new Error(`${file} has a malformed file entry`);
  }
  return { hostPath: raw.hostPath, containerPath: raw.containerPath, git: raw.git === true, ...(raw.head ? { head: raw.head } : {}), files: raw.files };
}

/**
 * The content a base file had, for the diff: a blob kept beside base.json (`blobs/<sha256>`), or the
 * user's own file when it still has that content (read without following a symlink). Undefined when
 * neither holds it any more: the diff then shows the file as changed without its old lines.
 */
export function baseContent(projectDir: string, base: ProjectBase, file: BaseFile): Buffer | undefined {
  if (file.symlink !== undefined) return Buffer.from(file.symlink);
  const candidates = [path.join(projectDir, 'blobs', file.sha256), path.join(base.hostPath, ...file.path.split('/'))];
  for (const candidate of candidates) {
    try {
      const fd = fs.openSync(candidate, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        if (fs.fstatSync(fd).size !== file.size) continue;
        const content = fs.readFileSync(fd);
        if (createHash('sha256').update(content).digest('hex') === file.sha256) return content;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // gone, a symlink, unreadable: try the next
    }
  }
  return undefined;
}
