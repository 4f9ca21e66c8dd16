/**
 * What applying a stored change would do to the user's project, worked out before anything is
 * written: every file's new content, mode or removal. It refuses (naming the files) when a file the
 * change touches is not what it was when the task started (its sha256 in base.json), when a path
 * would go through a symlink, and when the change would make a symlink pointing outside the project.
 * Modes are the user's: a setuid/setgid/sticky bit is never set, and an executable bit only where
 * the user's file already had it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyPatch, parsePatch, type StructuredPatch } from 'diff';
import { diff3Merge } from 'node-diff3';
import { AirlockError } from '../errors.js';
import { sha256, type BaseSnapshot, type ChangeFile, type StoredChange } from './change-files.js';

export type ChangeOperation =
  | { kind: 'write'; path: string; content: Buffer; mode: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'remove'; path: string };

/** A mode bit the change asked for and did not get. */
export interface ModeNotice {
  path: string;
  dropped: 'setuid/setgid/sticky' | 'executable';
}

export interface ChangePlan {
  operations: ChangeOperation[];
  notices: ModeNotice[];
  /** Files merged three ways (`--3way`) because the user changed them since the task started. */
  merged: string[];
}

export interface PlanInput {
  root: string;
  change: StoredChange;
  threeWay: boolean;
  /** A binary file's new content by its sha256 (checked). */
  blob: (hash: string) => Buffer;
  /** The file's content at the snapshot's git commit, from the user's own repository (for --3way). */
  baseContent?: (file: string) => Buffer | undefined;
}

const SPECIAL_BITS = 0o7000;
const EXEC_BITS = 0o111;

export function planChange(input: PlanInput): ChangePlan {
  const { root, change } = input;
  const baseFiles = new Map(change.base.files.map((f) => [f.path, f]));
  const sections = patchSections(change.patch);
  const operations: ChangeOperation[] = [];
  const notices: ModeNotice[] = [];
  const merged: string[] = [];
  const conflicts: string[] = [];
  const refused: string[] = [];
  const touched = new Set<string>();
  const newSymlinks: string[] = [];

  for (const file of change.summary.files) {
    const source = file.status === 'renamed' ? file.oldPath : file.path;
    if (source === undefined) {
      refused.push(`${file.path} (a rename that names no old path)`);
      continue;
    }
    for (const p of new Set([source, file.path])) {
      if (touched.has(p)) refused.push(`${p} (named twice in the change)`);
      touched.add(p);
      const through = symlinkOnTheWay(root, p);
      if (through) refused.push(`${p} (goes through the symlink ${through})`);
    }
    if (file.symlinkTarget !== undefined) {
      if (!symlinkStaysInside(file.path, file.symlinkTarget)) {
        refused.push(`${file.path} (a symlink pointing outside the project: ${file.symlinkTarget})`);
        continue;
      }
      newSymlinks.push(file.path);
    }

    const current = file.status === 'added' ? undefined : readCurrent(root, source);
    const unchanged = file.status === 'added' ? !exists(root, file.path) : current !== undefined && sameAsBase(current.bytes, baseFiles.get(source));
    const targetFree = file.status !== 'renamed' || !exists(root, file.path);
    if (file.status === 'deleted') {
      if (!unchanged) conflicts.push(source);
      else operations.push({ kind: 'remove', path: source });
      continue;
    }
    if (!targetFree) {
      conflicts.push(file.path);
      continue;
    }
    if (file.symlinkTarget !== undefined) {
      if (!unchanged) conflicts.push(source);
      else {
        if (file.status === 'renamed' || (current && !current.symlink)) operations.push({ kind: 'remove', path: source });
        operations.push({ kind: 'symlink', path: file.path, target: file.symlinkTarget });
      }
      continue;
    }

    let content: Buffer | undefined;
    if (unchanged) content = newContent(file, current?.bytes ?? Buffer.alloc(0), sections, input);
    else if (input.threeWay && current && !current.symlink && !file.binary) {
      content = mergeThreeWays(file, source, current.bytes, sections, input, baseFiles);
      if (content) merged.push(file.path);
    }
    if (!content) {
      conflicts.push(source);
      continue;
    }
    if (file.sha256 !== undefined && !file.binary && !merged.includes(file.path) && sha256(content) !== file.sha256) {
      refused.push(`${file.path} (the patch does not give the content the change names)`);
      continue;
    }
    const mode = safeMode(file, current?.mode, notices);
    if (file.status === 'renamed') operations.push({ kind: 'remove', path: source });
    operations.push({ kind: 'write', path: file.path, content, mode });
  }

  // A file the change writes under a symlink the change itself makes would land wherever it points.
  for (const link of newSymlinks) {
    for (const p of touched) if (p.startsWith(`${link}/`)) refused.push(`${p} (goes through the symlink ${link} the change makes)`);
  }
  if (refused.length > 0) {
    throw new AirlockError('policy_refused', `the change was refused, nothing was applied: ${refused.join(', ')}`, 'review it with `airlock diff <task>`; `airlock discard <task>` drops it');
  }
  if (conflicts.length > 0) {
    throw new AirlockError('bad_argument', `nothing was applied: these files changed since the task started: ${conflicts.join(', ')}`,
      input.threeWay ? 'they could not be merged; resolve them by hand (see `airlock diff <task>`)' : 'commit or set aside your changes to them, or try `airlock apply <task> --3way`');
  }
  return { operations, notices, merged };
}

/** The patch's per-file sections, by the project-relative path they change. */
function patchSections(patch: string): Map<string, StructuredPatch> {
  const byPath = new Map<string, StructuredPatch>();
  for (const section of parsePatch(patch)) {
    const name = section.newFileName && section.newFileName !== '/dev/null' ? section.newFileName : section.oldFileName;
    if (name) byPath.set(name.replace(/^[ab]\//, ''), section);
  }
  return byPath;
}

function newContent(file: ChangeFile, old: Buffer, sections: Map<string, StructuredPatch>, input: PlanInput): Buffer | undefined {
  if (file.binary) return file.sha256 === undefined ? undefined : input.blob(file.sha256);
  const section = sections.get(file.path);
  if (!section || section.hunks.length === 0) return file.status === 'added' ? Buffer.alloc(0) : old;
  const patched = applyPatch(old.toString('utf8'), section, { fuzzFactor: 0 });
  return patched === false ? undefined : Buffer.from(patched, 'utf8');
}

/** The user's edits and the agent's, merged over the file as it was at the snapshot's commit; undefined on a conflict. */
function mergeThreeWays(file: ChangeFile, source: string, mine: Buffer, sections: Map<string, StructuredPatch>, input: PlanInput, baseFiles: Map<string, BaseSnapshot['files'][number]>): Buffer | undefined {
  const original = input.baseContent?.(source);
  if (!original || !sameAsBase(original, baseFiles.get(source))) return undefined;
  const theirs = newContent(file, original, sections, input);
  if (!theirs) return undefined;
  const lines = (b: Buffer) => b.toString('utf8').split(/(?<=\n)/);
  const regions = diff3Merge(lines(mine), lines(original), lines(theirs));
  if (regions.some((r) => r.conflict)) return undefined;
  return Buffer.from(regions.flatMap((r) => r.ok ?? []).join(''), 'utf8');
}

/** The mode a written file gets: the user's permissions, never a special bit, an exec bit only if the user's file had one. */
function safeMode(file: ChangeFile, currentMode: number | undefined, notices: ModeNotice[]): number {
  const asked = file.newMode ?? currentMode ?? 0o644;
  if (asked & SPECIAL_BITS) notices.push({ path: file.path, dropped: 'setuid/setgid/sticky' });
  const userHad = currentMode === undefined ? 0o644 : currentMode & 0o777;
  const userHadExec = (userHad & EXEC_BITS) !== 0;
  if (asked & EXEC_BITS && !userHadExec) notices.push({ path: file.path, dropped: 'executable' });
  return asked & EXEC_BITS ? userHad : userHad & ~EXEC_BITS;
}

function sameAsBase(bytes: Buffer, base: BaseSnapshot['files'][number] | undefined): boolean {
  return base !== undefined && sha256(bytes) === base.sha256;
}

/** A symlink's target, as the OS would resolve it from where the link is, stays under the project. */
export function symlinkStaysInside(linkPath: string, target: string): boolean {
  if (target === '' || target.includes('\0') || path.posix.isAbsolute(target)) return false;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  return resolved !== '..' && !resolved.startsWith('../') && resolved.split('/')[0] !== '.git';
}

/** The first directory on the way to `p` (inside the project) that is a symlink, if any. */
function symlinkOnTheWay(root: string, p: string): string | undefined {
  const parts = p.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const stat = fs.lstatSync(path.join(root, prefix), { throwIfNoEntry: false });
    if (!stat) return undefined;
    if (stat.isSymbolicLink()) return prefix;
  }
  return undefined;
}

interface CurrentFile {
  bytes: Buffer;
  mode: number;
  symlink: boolean;
}

/** The user's file now (a symlink as its target text, like base.json records it); undefined when gone. */
function readCurrent(root: string, p: string): CurrentFile | undefined {
  const file = path.join(root, p);
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!stat) return undefined;
  if (stat.isSymbolicLink()) return { bytes: Buffer.from(fs.readlinkSync(file), 'utf8'), mode: stat.mode & 0o777, symlink: true };
  if (!stat.isFile()) return undefined;
  return { bytes: fs.readFileSync(file, { flag: fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW }), mode: stat.mode & 0o7777, symlink: false };
}

function exists(root: string, p: string): boolean {
  return fs.lstatSync(path.join(root, p), { throwIfNoEntry: false }) !== undefined;
}
