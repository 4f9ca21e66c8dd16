/**
 * Carries out a change plan on the user's project all or nothing. Every new file is first written
 * beside its destination under a temporary name; only then is each destination swapped in by a
 * rename, the file it replaces kept under a backup name until every swap has succeeded. Any failure
 * puts every backup back and removes what was added, so the project is as it was.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChangeOperation } from './change-plan.js';

interface Staged {
  operation: ChangeOperation;
  /** The new file, written under a temporary name beside the destination. */
  temp?: string;
  /** The user's file while the swap is under way. */
  backup?: string;
  swapped: boolean;
}

export function writeChange(root: string, operations: ChangeOperation[]): void {
  const createdDirs: string[] = [];
  const staged: Staged[] = operations.map((operation) => ({ operation, swapped: false }));
  try {
    for (const step of staged) stage(root, step, createdDirs);
    for (const step of staged) swap(root, step);
  } catch (error) {
    rollBack(root, staged, createdDirs);
    throw error;
  }
  for (const step of staged) if (step.backup) fs.rmSync(step.backup, { force: true });
}

function stage(root: string, step: Staged, createdDirs: string[]): void {
  const { operation } = step;
  if (operation.kind === 'remove') return;
  const destination = path.join(root, operation.path);
  makeParents(root, path.dirname(operation.path), createdDirs);
  step.temp = sibling(destination, 'new');
  if (operation.kind === 'symlink') {
    fs.symlinkSync(operation.target, step.temp);
    return;
  }
  // O_EXCL|O_NOFOLLOW: the temporary name is ours alone; the mode is set on the descriptor (umask does not widen it).
  const fd = fs.openSync(step.temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, operation.content);
    fs.fchmodSync(fd, operation.mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function swap(root: string, step: Staged): void {
  const destination = path.join(root, step.operation.path);
  if (fs.lstatSync(destination, { throwIfNoEntry: false })) {
    step.backup = sibling(destination, 'old');
    fs.renameSync(destination, step.backup);
  }
  step.swapped = true;
  if (step.temp) {
    fs.renameSync(step.temp, destination);
    step.temp = undefined;
  }
}

function rollBack(root: string, staged: Staged[], createdDirs: string[]): void {
  for (const step of [...staged].reverse()) {
    const destination = path.join(root, step.operation.path);
    if (step.temp) fs.rmSync(step.temp, { force: true });
    if (!step.swapped) continue;
    if (step.operation.kind !== 'remove') fs.rmSync(destination, { force: true });
    if (step.backup) fs.renameSync(step.backup, destination);
  }
  for (const dir of createdDirs.reverse()) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty: something else wrote there meanwhile, and it is not ours to remove
    }
  }
}

/** Creates the missing directories on the way to `dir`, remembering them so a rollback can remove them. */
function makeParents(root: string, dir: string, createdDirs: string[]): void {
  if (dir === '.' || dir === '') return;
  let current = root;
  for (const part of dir.split('/')) {
    current = path.join(current, part);
    const stat = fs.lstatSync(current, { throwIfNoEntry: false });
    if (stat?.isDirectory()) continue;
    if (stat) throw new Error(`${path.relative(root, current)} is not a directory`);
    fs.mkdirSync(current, { mode: 0o755 });
    createdDirs.push(current);
  }
}

function sibling(destination: string, role: 'new' | 'old'): string {
  return path.join(path.dirname(destination), `.${path.basename(destination)}.airlock-${role}-${randomBytes(6).toString('hex')}`);
}
