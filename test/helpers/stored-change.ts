/**
 * Writes what the CHANGES and PROJ parts store for a task (project/base.json; changes/change.json,
 * change.patch, blobs/) from real folders made by the test: the "agent's" edits are made on a
 * scratch git repository (the test's own, never a project) and `git diff --binary -M` of them is the patch.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChangeSummary } from '../../main/core/service/change-files.js';
import { tempDir } from './env.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.test', GIT_CONFIG_NOSYSTEM: '1' };

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { env: GIT_ENV, encoding: 'utf8' });
}

export const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** A project folder with these files (a git repository with them committed when `asGit`). */
export function makeProject(files: Record<string, string | Buffer>, asGit: boolean): string {
  const dir = tempDir('airlock-project-');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  if (asGit) {
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'base');
  }
  return dir;
}

function walk(root: string, rel = ''): string[] {
  return fs.readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((d) => {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (p === '.git') return [];
    return d.isDirectory() ? walk(root, p) : [p];
  });
}

/** Writes base.json for the project as it is now, and the change `edit` makes to a copy of it. */
export function storeChange(options: { home: string; task: string; project: string; edit: (copy: string) => void; tamper?: (summary: ChangeSummary) => void }): ChangeSummary {
  const { home, task, project } = options;
  const taskDir = path.join(home, 'tasks', task);
  fs.mkdirSync(path.join(taskDir, 'project'), { recursive: true });
  const files = walk(project).map((p) => {
    const stat = fs.lstatSync(path.join(project, p));
    const content = stat.isSymbolicLink() ? fs.readlinkSync(path.join(project, p)) : fs.readFileSync(path.join(project, p));
    return { path: p, mode: stat.mode, sha256: sha(content), size: stat.size, ...(stat.isSymbolicLink() ? { symlink: content as string } : {}) };
  });
  const isGit = fs.existsSync(path.join(project, '.git'));
  const head = isGit ? git(project, 'rev-parse', 'HEAD').trim() : undefined;
  fs.writeFileSync(path.join(taskDir, 'project', 'base.json'), JSON.stringify({ hostPath: project, containerPath: '/workspace/project', git: isGit, ...(head ? { head } : {}), files }));

  const scratch = tempDir('airlock-scratch-');
  for (const p of walk(project)) {
    const from = path.join(project, p);
    fs.mkdirSync(path.dirname(path.join(scratch, p)), { recursive: true });
    if (fs.lstatSync(from).isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), path.join(scratch, p));
    else fs.copyFileSync(from, path.join(scratch, p));
  }
  git(scratch, 'init', '-q');
  git(scratch, 'add', '-A');
  git(scratch, 'commit', '-qm', 'base', '--allow-empty');
  options.edit(scratch);
  git(scratch, 'add', '-A');
  const patch = git(scratch, 'diff', '--cached', '--binary', '-M');
  const raw = git(scratch, 'diff', '--cached', '--raw', '-M', '--numstat', '-z').split('\0');
  const changes = path.join(taskDir, 'changes');
  fs.mkdirSync(path.join(changes, 'blobs'), { recursive: true });
  const entries: ChangeSummary['files'] = [];
  let i = 0;
  while (i < raw.length && raw[i]!.startsWith(':')) {
    const [oldMode, newMode, , , status] = raw[i]!.slice(1).split(' ');
    const letter = status![0]!;
    const oldPath = letter === 'R' ? raw[i + 1] : undefined;
    const p = letter === 'R' ? raw[i + 2]! : raw[i + 1]!;
    i += letter === 'R' ? 3 : 2;
    const full = path.join(scratch, p);
    const stat = fs.lstatSync(full, { throwIfNoEntry: false });
    const content = stat?.isFile() ? fs.readFileSync(full) : undefined;
    const binary = content !== undefined && content.includes(0);
    if (binary) fs.writeFileSync(path.join(changes, 'blobs', sha(content)), content);
    entries.push({
      path: p, status: ({ A: 'added', M: oldMode === newMode ? 'modified' : 'mode', D: 'deleted', R: 'renamed' } as const)[letter as 'A'] ?? 'modified',
      ...(oldPath ? { oldPath } : {}), binary, added: 0, removed: 0,
      oldMode: parseInt(oldMode!, 8), newMode: parseInt(newMode!, 8),
      ...(stat?.isSymbolicLink() ? { symlinkTarget: fs.readlinkSync(full) } : {}),
      ...(content ? { sha256: sha(content) } : {}),
    });
  }
  const summary: ChangeSummary = { files: entries, added: 0, removed: 0, patchSha256: sha(patch) };
  options.tamper?.(summary);
  fs.writeFileSync(path.join(changes, 'change.patch'), patch);
  fs.writeFileSync(path.join(changes, 'change.json'), JSON.stringify(summary));
  return summary;
}

/** A well-formed task id (t_ + 26 characters of Crockford base32). */
export function taskIdFor(n: number): string {
  return `t_${String(n).padStart(26, '0')}`;
}
