import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ignore from 'ignore';
import { AirlockError } from '../errors.js';

const run = promisify(execFile);

/** What a project may be at most (the workspace's `resources.disk` bounds it too). */
export const PROJECT_LIMITS = { maxBytes: 2 * 1024 ** 3, maxFiles: 200_000 };

/** One entry of the working copy, as it is on the host (paths relative to the project, `/`-separated). */
export interface ProjectEntry {
  path: string;
  /** Permission bits as copied: 0o755 for an executable file, 0o644 otherwise (never setuid/setgid/sticky). */
  mode: number;
  size: number;
  /** A symlink's target, copied as the link itself (never followed). */
  symlink?: string;
}

/** The files a project gives its task, listed (not read) before anything is copied. */
export interface ProjectListing {
  hostPath: string;
  /** A git repository whose top level is the project: the copy gets a fresh `.git`. */
  git: boolean;
  /** The commit checked out, when `git` and the repository has one. */
  head?: string;
  entries: ProjectEntry[];
  /** Bytes of the files (symlinks count their target's length). */
  bytes: number;
  /** Paths `.airlockignore` left out (tracked ones are marked skip-worktree in the copy's index, so they do not show as deleted). */
  withheld: string[];
}

/**
 * Host git on the user's own repository (never on anything an agent wrote): the user's config
 * and excludes apply, as they would to `git status`, but fsmonitor (a configured command) never runs.
 */
async function git(dir: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', dir, '-c', 'core.fsmonitor=false', ...args], { maxBuffer: 256 * 1024 ** 2, encoding: 'utf8' });
  return stdout;
}

async function gitTopLevel(dir: string): Promise<string | undefined> {
  try {
    return await fs.promises.realpath((await git(dir, ['rev-parse', '--show-toplevel'])).trim());
  } catch {
    return undefined; // not a repository (or git is missing): the folder is copied as a folder
  }
}

/**
 * Lists a project folder: for a git repository (the folder or one it is in), the tracked files
 * and the untracked ones git does not ignore (`.env` in .gitignore is never listed); for another
 * folder, every file. Then `.airlockignore` (gitignore syntax, at the project's top) takes more
 * out. Refused past `limits` (files or bytes) with the numbers, before anything is read.
 */
export async function listProject(hostPath: string, limits: { maxBytes: number; maxFiles: number } = PROJECT_LIMITS): Promise<ProjectListing> {
  let root: string;
  try {
    root = await fs.promises.realpath(hostPath);
    if (!(await fs.promises.stat(root)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new AirlockError('bad_argument', `project: ${hostPath} is not a folder`, 'name the project\'s folder, e.g. --project .');
  }
  const top = await gitTopLevel(root);
  const isTop = top === root;
  const names = top !== undefined
    ? (await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])).split('\0')
    : await walk(root, '', { left: limits.maxFiles + 1 });
  const ignored = await airlockIgnore(root);
  const listed = [...new Set(names)].filter((name) => name !== '' && !name.endsWith('/'));
  const withheld = listed.filter(ignored);
  const unique = listed.filter((name) => !ignored(name)).sort();
  if (unique.length > limits.maxFiles) throw tooBig(hostPath, `${unique.length} files`, limits);

  const entries: ProjectEntry[] = [];
  let bytes = 0;
  for (const name of unique) {
    if (name.split('/').some((part) => part === '..' || part === '.' || part === '.git')) continue;
    const stat = await fs.promises.lstat(path.join(root, name)).catch(() => undefined); // deleted since HEAD: not in the copy
    if (!stat) continue;
    if (stat.isSymbolicLink()) {
      const target = await fs.promises.readlink(path.join(root, name));
      entries.push({ path: name, mode: 0o777, size: Buffer.byteLength(target), symlink: target });
      bytes += Buffer.byteLength(target);
    } else if (stat.isFile()) {
      entries.push({ path: name, mode: stat.mode & 0o111 ? 0o755 : 0o644, size: stat.size });
      bytes += stat.size;
    }
    // folders (a submodule), sockets, FIFOs and devices: never copied.
    if (bytes > limits.maxBytes) throw tooBig(hostPath, `more than ${formatBytes(limits.maxBytes)}`, limits);
  }
  const head = isTop ? await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD']).then((s) => s.trim(), () => undefined) : undefined;
  return { hostPath: root, git: isTop, ...(head ? { head } : {}), entries, bytes, withheld };
}

function tooBig(hostPath: string, what: string, limits: { maxBytes: number; maxFiles: number }): AirlockError {
  return new AirlockError('policy_refused', `project: ${hostPath} is too big to copy: ${what} (the limit is ${formatBytes(limits.maxBytes)} and ${limits.maxFiles} files)`,
    'leave build output and data out with .airlockignore (gitignore syntax), or name a smaller folder');
}

/** `.airlockignore` at the project's top, as a filter; no file, no filter. */
async function airlockIgnore(root: string): Promise<(name: string) => boolean> {
  const text = await fs.promises.readFile(path.join(root, '.airlockignore'), 'utf8').catch(() => undefined);
  if (text === undefined) return () => false;
  const matcher = ignore().add(text);
  return (name) => matcher.ignores(name);
}

/** Every file and symlink under a folder that is not a repository (symlinks never followed, `.git` never entered). */
// `budget` stops the walk one past the file limit: a home folder is refused, not listed whole.
async function walk(root: string, rel: string, budget: { left: number }): Promise<string[]> {
  const found: string[] = [];
  const dirents = await fs.promises.readdir(path.join(root, rel), { withFileTypes: true });
  for (const dirent of dirents) {
    if (budget.left <= 0) break;
    if (dirent.name === '.git') continue;
    const name = rel ? `${rel}/${dirent.name}` : dirent.name;
    if (dirent.isDirectory()) {
      found.push(...(await walk(root, name, budget)));
    } else {
      found.push(name);
      budget.left -= 1;
    }
  }
  return found;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The line shown before a project is copied. */
export function projectSizeLine(listing: ProjectListing, limits: { maxBytes: number; maxFiles: number } = PROJECT_LIMITS): string {
  const git = listing.git ? `, git${listing.head ? ` ${listing.head.slice(0, 12)}` : ''}` : '';
  return `project: ${listing.hostPath}: ${listing.entries.length} files, ${formatBytes(listing.bytes)}${git} (limit ${formatBytes(limits.maxBytes)}, ${limits.maxFiles} files)`;
}
