import { structuredPatch } from 'diff';
import type { BaseFile } from './base.js';
import type { WorkingFile } from './working-copy.js';

export type ChangeStatus = 'added' | 'modified' | 'deleted' | 'renamed' | 'mode';

export interface ChangedFile {
  path: string;
  status: ChangeStatus;
  oldPath?: string;
  binary: boolean;
  added: number;
  removed: number;
  oldMode?: number;
  newMode?: number;
  symlinkTarget?: string;
  /** The new content's sha256 (not for a symlink). */
  sha256?: string;
  /** The same, when the content is kept in blobs/ (binary, or the old content was not at hand). */
  blob?: string;
}

export interface Change {
  files: ChangedFile[];
  added: number;
  removed: number;
  patch: string;
  /** Contents the patch does not carry as lines, by sha256. */
  blobs: Map<string, Buffer>;
}

/** Larger files are shown as binary: a diff of them is not something a person reviews line by line. */
const MAX_TEXT_BYTES = 1024 * 1024;

function isText(content: Buffer): boolean {
  if (content.length > MAX_TEXT_BYTES || content.subarray(0, 8000).includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(content);
    return true;
  } catch {
    return false;
  }
}

/** git's mode words: 100644, 100755, 120000. */
function gitMode(file: { mode: number; symlink?: string }): string {
  if (file.symlink !== undefined) return '120000';
  return file.mode & 0o100 ? '100755' : '100644';
}

/**
 * The change from the base snapshot to the working copy, as a git-style unified diff. Renames are
 * found by identical content; binary files (and text whose old content is no longer at hand) are
 * named "Binary files … differ" with the new content kept as a blob.
 */
export function computeChange(base: BaseFile[], working: Map<string, WorkingFile>, oldContent: (file: BaseFile) => Buffer | undefined): Change {
  const before = new Map(base.map((file) => [file.path, file]));
  const deleted = base.filter((file) => !working.has(file.path));
  const addedFiles = [...working.values()].filter((file) => !before.has(file.path));
  const renames = new Map<string, BaseFile>(); // new path → old file
  for (const file of addedFiles) {
    const index = deleted.findIndex((old) => old.sha256 === file.sha256 && gitMode(old) === gitMode(file));
    if (index >= 0) renames.set(file.path, deleted.splice(index, 1)[0]!);
  }
  const change: Change = { files: [], added: 0, removed: 0, patch: '', blobs: new Map() };
  const parts: { path: string; text: string }[] = [];
  const add = (entry: ChangedFile, text: string) => {
    change.files.push(entry);
    change.added += entry.added;
    change.removed += entry.removed;
    parts.push({ path: entry.path, text });
  };

  for (const old of deleted) {
    const content = oldContent(old);
    add(...fileDiff(old.path, old.path, old, undefined, content, 'deleted', change.blobs));
  }
  for (const file of working.values()) {
    const old = before.get(file.path) ?? renames.get(file.path);
    if (!old) {
      add(...fileDiff(file.path, file.path, undefined, file, undefined, 'added', change.blobs));
      continue;
    }
    const renamed = renames.has(file.path);
    const sameContent = old.sha256 === file.sha256 && (old.symlink ?? null) === (file.symlink ?? null);
    if (!renamed && sameContent && gitMode(old) === gitMode(file)) continue;
    const status: ChangeStatus = renamed ? 'renamed' : sameContent ? 'mode' : 'modified';
    add(...fileDiff(old.path, file.path, old, file, sameContent ? file.content : oldContent(old), status, change.blobs));
  }
  const order = change.files.map((file, index) => ({ file, text: parts[index]!.text })).sort((a, b) => (a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0));
  change.files = order.map((item) => item.file);
  change.patch = order.map((item) => item.text).join('');
  return change;
}

function fileDiff(
  oldPath: string, newPath: string, old: BaseFile | undefined, file: WorkingFile | undefined, oldBytes: Buffer | undefined,
  status: ChangeStatus, blobs: Map<string, Buffer>,
): [ChangedFile, string] {
  const entry: ChangedFile = { path: newPath, status, binary: false, added: 0, removed: 0 };
  const head = [`diff --git a/${oldPath} b/${newPath}`];
  if (status === 'renamed') Object.assign(entry, { oldPath });
  if (old) entry.oldMode = old.symlink !== undefined ? 0o120000 : old.mode;
  if (file) entry.newMode = file.symlink !== undefined ? 0o120000 : file.mode;
  if (file?.symlink !== undefined) entry.symlinkTarget = file.symlink;
  // The new content's hash: `apply` checks what a patch makes against it, and reads a binary file from blobs/<sha256>.
  else if (file) entry.sha256 = file.sha256;
  if (!old && file) head.push(`new file mode ${gitMode(file)}`);
  else if (old && !file) head.push(`deleted file mode ${gitMode(old)}`);
  else if (old && file && gitMode(old) !== gitMode(file)) head.push(`old mode ${gitMode(old)}`, `new mode ${gitMode(file)}`);
  if (status === 'renamed') head.push(`similarity index ${old?.sha256 === file?.sha256 ? 100 : 50}%`, `rename from ${oldPath}`, `rename to ${newPath}`);
  const contentSame = old !== undefined && file !== undefined && old.sha256 === file.sha256;
  if (contentSame) return [entry, `${head.join('\n')}\n`];

  const newBytes = file?.content;
  const textual = (newBytes === undefined || isText(newBytes)) && (old === undefined || (oldBytes !== undefined && isText(oldBytes)));
  const oldName = old ? `a/${oldPath}` : '/dev/null';
  const newName = file ? `b/${newPath}` : '/dev/null';
  if (!textual) {
    entry.binary = true;
    if (file && newBytes) {
      blobs.set(file.sha256, newBytes);
      entry.blob = file.sha256;
    }
    return [entry, `${head.join('\n')}\nBinary files ${oldName} and ${newName} differ\n`];
  }
  const patch = structuredPatch(oldName, newName, oldBytes?.toString('utf8') ?? '', newBytes?.toString('utf8') ?? '', undefined, undefined, { context: 3 });
  const lines = [...head, `--- ${oldName}`, `+++ ${newName}`];
  for (const hunk of patch.hunks) {
    const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
    const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
    lines.push(`@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`);
    for (const line of hunk.lines) {
      if (line.startsWith('+')) entry.added += 1;
      else if (line.startsWith('-')) entry.removed += 1;
      lines.push(line);
    }
  }
  return [entry, `${lines.join('\n')}\n`];
}
