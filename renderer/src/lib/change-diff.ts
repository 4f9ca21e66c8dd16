/**
 * A stored change's patch, split into one parsed diff per changed file, for display. The patch is
 * the agent's text: it is parsed file by file (a `diff --git` header starts each; a content line
 * never can, it starts with +, - or a space) so one odd file cannot shift the others, and every
 * line shown is made visible (bidi overrides and invisible characters as escapes).
 */
import { parseDiff, type FileData } from 'react-diff-view';
import type { ChangeFileInfo } from '../../../preload/contract';
import { visible } from './visible-text';

/** The patch's per-file diffs, each with its lines made visible. */
export function fileDiffs(patch: string): FileData[] {
  return patch.split(/^(?=diff --git )/m).filter((chunk) => chunk.startsWith('diff --git ')).map((chunk) => {
    const parsed = parseDiff(chunk, { nearbySequences: 'zip' })[0];
    const diff: FileData = parsed ?? { oldPath: '', newPath: '', oldRevision: '', newRevision: '', oldMode: '', newMode: '', type: 'modify', hunks: [], oldEndingNewLine: true, newEndingNewLine: true };
    return {
      ...diff,
      hunks: diff.hunks.map((hunk) => ({ ...hunk, content: visible(hunk.content), changes: hunk.changes.map((change) => ({ ...change, content: visible(change.content) })) })),
    };
  });
}

/**
 * The diff of each changed file, in the order of `files`: the patch has one file's diff per changed
 * file in that order (main/core/changes/diff.ts sorts both by path); when the counts differ, by the
 * path git names (which it quotes when odd, so such a file is then shown without its lines).
 */
export function diffsOfFiles(files: ChangeFileInfo[], diffs: FileData[]): (FileData | undefined)[] {
  if (diffs.length === files.length) return files.map((_, index) => diffs[index]);
  return files.map((file) => diffs.find((d) => visible(file.status === 'deleted' ? d.oldPath : d.newPath) === file.path));
}
