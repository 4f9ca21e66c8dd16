/**
 * The stored change of a task and the project snapshot it is a change against, as read back from
 * AIRLOCK_HOME/tasks/<task>/: `project/base.json` (what was copied in) and `changes/` (change.json,
 * change.patch, blobs/<sha256>). Everything in the change came out of the sandbox, so every field is
 * checked here before anything uses it: paths relative and inside the project (no `..`, no absolute
 * path, no NUL, nothing in `.git`), modes and hashes well formed, sizes bounded.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AirlockError } from '../errors.js';

/** What `changes.get` will read of a patch (a bigger one is refused, not truncated). */
export const MAX_PATCH_BYTES = 64 * 1024 * 1024;
/** Files one change may touch. */
export const MAX_CHANGE_FILES = 200_000;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a sha256 (64 lowercase hex digits)' });
const mode = z.number().int().min(0).max(0o177777);

/** A project-relative path that cannot leave the project or reach into its `.git`. */
export function isSafeProjectPath(p: string): boolean {
  if (p.length === 0 || p.length > 4096 || p.includes('\0') || p.includes('\\') || p.startsWith('/')) return false;
  const parts = p.split('/');
  return parts.every((part) => part !== '' && part !== '.' && part !== '..') && parts[0] !== '.git';
}
const projectPath = z.string().refine(isSafeProjectPath, { error: 'must be a relative path inside the project (no `..`, no absolute path, no NUL, not in .git)' });

export const baseSnapshotSchema = z.object({
  hostPath: z.string().startsWith('/').max(4096).refine((p) => !p.includes('\0')),
  git: z.boolean(),
  head: z.string().regex(/^[0-9a-f]{40,64}$/).optional(),
  files: z.array(z.object({ path: projectPath, mode: mode.optional(), sha256: sha256Hex, size: z.number().int().min(0), symlink: z.string().optional() })).max(MAX_CHANGE_FILES * 5),
});
export type BaseSnapshot = z.infer<typeof baseSnapshotSchema>;

export const changeFileSchema = z.object({
  path: projectPath,
  status: z.enum(['added', 'modified', 'deleted', 'renamed', 'mode']),
  oldPath: projectPath.optional(),
  binary: z.boolean(),
  added: z.number().int().min(0),
  removed: z.number().int().min(0),
  oldMode: mode.optional(),
  newMode: mode.optional(),
  symlinkTarget: z.string().max(4096).optional(),
  /** The new content's sha256: a binary file's content is blobs/<sha256>; a text file's is checked against it. */
  sha256: sha256Hex.optional(),
});
export type ChangeFile = z.infer<typeof changeFileSchema>;

export const changeSummarySchema = z.object({
  files: z.array(changeFileSchema).max(MAX_CHANGE_FILES),
  added: z.number().int().min(0),
  removed: z.number().int().min(0),
  patchSha256: sha256Hex,
  commits: z.array(z.unknown()).optional(),
  branch: z.string().max(255).optional(),
});
export type ChangeSummary = z.infer<typeof changeSummarySchema>;

/** Where a task's change and its project snapshot live. */
export function changePaths(taskDir: string) {
  const changes = path.join(taskDir, 'changes');
  return {
    changes,
    summary: path.join(changes, 'change.json'),
    patch: path.join(changes, 'change.patch'),
    blobs: path.join(changes, 'blobs'),
    applied: path.join(changes, 'applied.json'),
    base: path.join(taskDir, 'project', 'base.json'),
  };
}
export type ChangePaths = ReturnType<typeof changePaths>;

/** A stored change, checked: its summary, its patch (whose sha256 is the one the trail records) and the snapshot it applies to. */
export interface StoredChange {
  base: BaseSnapshot;
  summary: ChangeSummary;
  patch: string;
  /** When `airlock apply` already applied it. */
  applied?: { at: string };
}

export function readStoredChange(task: string, paths: ChangePaths): StoredChange {
  if (!fs.existsSync(paths.summary)) throw new AirlockError('not_found', `task ${task} has no stored change`, 'a change is collected when a task with a project ends; `airlock discard` removes it');
  const summary = parseJsonFile(paths.summary, changeSummarySchema, task);
  const base = parseJsonFile(paths.base, baseSnapshotSchema, task);
  const size = fs.statSync(paths.patch, { throwIfNoEntry: false })?.size;
  if (size === undefined) throw damaged(task, 'change.patch is missing');
  if (size > MAX_PATCH_BYTES) throw damaged(task, `change.patch is larger than ${MAX_PATCH_BYTES} bytes`);
  const bytes = fs.readFileSync(paths.patch);
  // The trail vouches for the patch by this hash: a patch changed since it was recorded is not shown or applied.
  if (sha256(bytes) !== summary.patchSha256) throw damaged(task, 'change.patch does not match the sha256 recorded for it');
  const applied = fs.existsSync(paths.applied) ? parseJsonFile(paths.applied, z.object({ at: z.string() }), task) : undefined;
  return { base, summary, patch: bytes.toString('utf8'), ...(applied ? { applied } : {}) };
}

/** A binary file's new content, checked against the hash it is stored under. */
export function readBlob(paths: ChangePaths, hash: string, task: string): Buffer {
  const file = path.join(paths.blobs, hash);
  const bytes = fs.readFileSync(file, { flag: fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW });
  if (sha256(bytes) !== hash) throw damaged(task, `blob ${hash} does not match its sha256`);
  return bytes;
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseJsonFile<T>(file: string, schema: z.ZodType<T>, task: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw damaged(task, `${path.basename(file)} is missing`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw damaged(task, `${path.basename(file)} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw damaged(task, `${path.basename(file)}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function damaged(task: string, what: string): AirlockError {
  return new AirlockError('state_damaged', `the stored change of task ${task} cannot be used: ${what}`, '`airlock discard <task>` removes it');
}
