import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { AGENT_UID } from '../engine/hardening.js';
import { AirlockError } from '../errors.js';
import type { BaseFile, ProjectBase } from '../changes/base.js';
import { freshGitDir } from './project-git.js';
import { listProject, PROJECT_LIMITS, type ProjectListing } from './project-files.js';

export interface ProjectCopied {
  files: BaseFile[];
  bytes: number;
  /** sha256 of the manifest: one line per file, `path NUL mode NUL sha256-or-link-target`. */
  sha256: string;
}

/**
 * The tar stream that puts a project's working copy at `rel` (relative to the workspace's mount):
 * every entry owned by the agent and writable by it, executable bits kept and nothing else
 * (never setuid/setgid), symlinks as links (never followed), and, for a repository, the fresh
 * `.git` from `gitTemp` (project-git.ts). Each file is opened without following a symlink and
 * must still be a regular file inside the project; `maxBytes` bounds what is read if files grew
 * since they were listed. `done` settles with the snapshot once the last byte is packed;
 * `copied` hears the running count after each file.
 */
export function packProject(listing: ProjectListing, rel: string, gitTemp: string | undefined, maxBytes: number, copied?: (files: number, bytes: number) => void): { stream: NodeJS.ReadableStream; done: Promise<ProjectCopied> } {
  const pack = tar.pack();
  const written = new Set<string>();
  const mtime = new Date();
  const dir = (name: string) => {
    const parts = name.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      if (written.has(sub)) continue;
      written.add(sub);
      pack.entry({ name: `${sub}/`, type: 'directory', mode: 0o755, uid: AGENT_UID, gid: AGENT_UID, mtime });
    }
  };
  const done = (async (): Promise<ProjectCopied> => {
    dir(rel);
    const files: BaseFile[] = [];
    let bytes = 0;
    const manifest = createHash('sha256');
    const insideProject = insideChecker(listing.hostPath);
    for (const entry of listing.entries) {
      const name = `${rel}/${entry.path}`;
      const parent = path.posix.dirname(name);
      if (parent !== rel) dir(parent);
      const hostFile = path.join(listing.hostPath, entry.path);
      if (entry.symlink !== undefined) {
        await addEntry(pack, { name, type: 'symlink', linkname: entry.symlink, mode: 0o777, uid: AGENT_UID, gid: AGENT_UID, mtime });
        const sha256 = createHash('sha256').update(entry.symlink).digest('hex');
        files.push({ path: entry.path, mode: 0o777, sha256, size: entry.size, symlink: entry.symlink });
        manifest.update(`${entry.path}\0link\0${entry.symlink}\n`);
        continue;
      }
      if (!(await insideProject(path.dirname(hostFile)))) throw new AirlockError('policy_refused', `project: ${entry.path} is not inside ${listing.hostPath} any more (a folder became a symlink?)`, 'run it again');
      const handle = await fs.promises.open(hostFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW).catch(() => undefined);
      if (!handle) continue; // gone or a symlink since it was listed: not copied
      try {
        const stat = await handle.stat();
        if (!stat.isFile()) continue;
        bytes += stat.size;
        if (bytes > maxBytes) throw new AirlockError('policy_refused', `project: ${listing.hostPath} grew past the limit of ${maxBytes} bytes while it was copied`, 'run it again when it is not being written');
        const hash = createHash('sha256');
        const source = handle.createReadStream({ start: 0, end: Math.max(0, stat.size - 1), autoClose: false });
        const tarEntry = pack.entry({ name, type: 'file', size: stat.size, mode: entry.mode, uid: AGENT_UID, gid: AGENT_UID, mtime: stat.mtime });
        if (stat.size === 0) {
          source.destroy();
          tarEntry.end(undefined);
        } else {
          source.on('data', (chunk) => hash.update(chunk));
          await pipeline(source, tarEntry);
        }
        const sha256 = hash.digest('hex');
        files.push({ path: entry.path, mode: entry.mode, sha256, size: stat.size });
        manifest.update(`${entry.path}\0${entry.mode.toString(8)}\0${sha256}\n`);
        copied?.(files.length, bytes);
      } finally {
        await handle.close();
      }
    }
    if (gitTemp !== undefined) await addGitDir(pack, path.join(gitTemp, 'repo', '.git'), `${rel}/.git`, mtime);
    pack.finalize();
    return { files, bytes, sha256: manifest.digest('hex') };
  })();
  done.catch((error: unknown) => pack.destroy(error as Error));
  return { stream: pack as unknown as NodeJS.ReadableStream, done };
}

function addEntry(pack: tar.Pack, header: Parameters<tar.Pack["entry"]>[0]): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (error) => (error ? reject(error) : resolve())));
}

/** Whether a host folder is (still) inside the project once symlinks are resolved; cached per folder. */
function insideChecker(root: string): (folder: string) => Promise<boolean> {
  const known = new Map<string, boolean>();
  return async (folder) => {
    const cached = known.get(folder);
    if (cached !== undefined) return cached;
    const real = await fs.promises.realpath(folder).catch(() => undefined);
    const inside = real !== undefined && (real === root || real.startsWith(`${root}${path.sep}`));
    known.set(folder, inside);
    return inside;
  };
}

/** The fresh `.git` Airlock made (its own files: folders and regular files only), owned by the agent. */
async function addGitDir(pack: tar.Pack, hostDir: string, name: string, mtime: Date): Promise<void> {
  await addEntry(pack, { name: `${name}/`, type: 'directory', mode: 0o755, uid: AGENT_UID, gid: AGENT_UID, mtime });
  for (const dirent of (await fs.promises.readdir(hostDir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const hostPath = path.join(hostDir, dirent.name);
    if (dirent.isDirectory()) {
      await addGitDir(pack, hostPath, `${name}/${dirent.name}`, mtime);
    } else if (dirent.isFile()) {
      const { size } = await fs.promises.stat(hostPath);
      const entry = pack.entry({ name: `${name}/${dirent.name}`, type: 'file', size, mode: 0o644, uid: AGENT_UID, gid: AGENT_UID, mtime });
      await pipeline(fs.createReadStream(hostPath), entry); // packs can be large: streamed, not read whole
    }
  }
}

/**
 * Puts the run's project in the task's workspace (before the agent starts): lists it (bounded by
 * PROJECT_LIMITS and the workspace's size), makes its fresh `.git`, streams the copy in, keeps the
 * snapshot in `base.json` under the task's folder and records `task.project`.
 */
export async function copyProject(options: {
  project: { from: string; to: string };
  workdir: string;
  diskBytes: number;
  taskDir: string;
  seed: (workdir: string, archive: NodeJS.ReadableStream) => Promise<void>;
  record: (data: Record<string, unknown>) => void;
  /** AIRLOCK_HOME: never copied in, when the project holds it (its trail, other tasks' files). */
  airlockHome?: string;
  /** `project.progress` while a large copy runs: at most one every PROGRESS_EVERY_MS of `now`. */
  progress?: { now: () => number; emit: (data: Record<string, unknown>) => void };
}): Promise<ProjectBase> {
  const { project, workdir } = options;
  const limits = { maxBytes: Math.min(PROJECT_LIMITS.maxBytes, options.diskBytes), maxFiles: PROJECT_LIMITS.maxFiles };
  const listing = withoutAirlockHome(await listProject(project.from, limits), options.airlockHome);
  const gitTemp = listing.git ? await freshGitDir(listing.hostPath, listing.head, listing.withheld) : undefined;
  try {
    const total = { totalFiles: listing.entries.length, totalBytes: listing.bytes };
    const { stream, done } = packProject(listing, path.posix.relative(workdir, project.to), gitTemp, limits.maxBytes, throttledProgress(options.progress, total));
    const [copied] = await Promise.all([done, options.seed(workdir, stream)]);
    const base: ProjectBase = { hostPath: listing.hostPath, containerPath: project.to, git: listing.git, ...(listing.head ? { head: listing.head } : {}), files: copied.files };
    const dir = path.join(options.taskDir, 'project');
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.writeFile(path.join(dir, 'base.json'), `${JSON.stringify(base)}\n`, { mode: 0o600 });
    options.record({
      hostPath: listing.hostPath, containerPath: project.to, git: listing.git, ...(listing.head ? { head: listing.head } : {}),
      files: copied.files.length, bytes: copied.bytes, sha256: copied.sha256,
    });
    return base;
  } finally {
    if (gitTemp !== undefined) await fs.promises.rm(gitTemp, { recursive: true, force: true });
  }
}

/** How often a copy in progress reports (a small project is copied before the first report). */
export const PROGRESS_EVERY_MS = 500;

/** The per-file count turned into `project.progress` events, one per PROGRESS_EVERY_MS at most. */
function throttledProgress(progress: { now: () => number; emit: (data: Record<string, unknown>) => void } | undefined, total: { totalFiles: number; totalBytes: number }): ((files: number, bytes: number) => void) | undefined {
  if (!progress) return undefined;
  let next = progress.now() + PROGRESS_EVERY_MS;
  return (files, bytes) => {
    const now = progress.now();
    if (now < next) return;
    next = now + PROGRESS_EVERY_MS;
    progress.emit({ files, bytes, ...total });
  };
}

/** The listing without AIRLOCK_HOME's files, when the project holds that folder (Airlock's own records never go into a sandbox). */
export function withoutAirlockHome(listing: ProjectListing, airlockHome: string | undefined): ProjectListing {
  if (!airlockHome) return listing;
  const home = fs.existsSync(airlockHome) ? fs.realpathSync(airlockHome) : path.resolve(airlockHome);
  const inside = path.relative(listing.hostPath, home);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    if (inside === '') throw new AirlockError('bad_argument', `--project: ${listing.hostPath} is AIRLOCK_HOME itself`, 'give the folder of your project');
    return listing;
  }
  const prefix = `${inside.split(path.sep).join('/')}/`;
  const kept = listing.entries.filter((entry) => entry.path !== prefix.slice(0, -1) && !entry.path.startsWith(prefix));
  if (kept.length === listing.entries.length) return listing;
  const bytes = kept.reduce((sum, entry) => sum + entry.size, 0);
  return { ...listing, entries: kept, bytes };
}
