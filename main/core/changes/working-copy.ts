import { createHash } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/** One file of the agent's working copy, as the engine's archive of the project folder holds it. */
export interface WorkingFile {
  path: string;
  /** Permission bits only (0o777): setuid, setgid and sticky bits never leave the sandbox. */
  mode: number;
  size: number;
  sha256: string;
  content: Buffer;
  symlink?: string;
}

/** Something in the working copy that is not carried into the change, and why. */
export interface Refusal {
  path: string;
  reason: string;
}

export interface WorkingCopyLimits {
  /** Entries read (folders, links and refused ones count too). */
  maxFiles: number;
  /** Bytes of file content read. */
  maxBytes: number;
}

export const DEFAULT_WORKING_COPY_LIMITS: WorkingCopyLimits = { maxFiles: 200_000, maxBytes: 256 * 1024 * 1024 };

export interface WorkingCopy {
  files: Map<string, WorkingFile>;
  refused: Refusal[];
  /** Set when a bound was passed: the copy is incomplete and no change may be made from it. */
  overLimit: string | undefined;
}

/** A path the change may name: relative, inside the project, printable (a newline would forge patch lines). */
export function unsafeName(rel: string): string | undefined {
  if (rel === '' || rel.startsWith('/')) return 'an absolute or empty path';
  if ([...rel].some((char) => char.charCodeAt(0) < 0x20 || char === '\u007f' || char === '\\')) return 'a control character or backslash in the name';
  if (rel.split('/').some((part) => part === '..' || part === '.' || part === '')) return 'a `..`, `.` or empty part in the path';
  return undefined;
}

/** The top-level `.git` is the agent's repository (carried as a bundle, never as files); any other `.git` part is refused. */
function gitInternal(rel: string): 'repository' | 'refused' | undefined {
  const parts = rel.split('/').map((part) => part.toLowerCase());
  if (parts[0] === '.git') return 'repository';
  return parts.some((part) => part === '.git') ? 'refused' : undefined;
}

/** A symlink whose target leaves the project (absolute, or climbing out) — it would point at the user's files on apply. */
export function symlinkLeaves(rel: string, target: string): boolean {
  if (target.startsWith('/') || target.includes('\u0000')) return true;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target));
  return resolved === '..' || resolved.startsWith('../');
}

/**
 * Reads the engine's archive of the project folder into memory, bounded. Entry names are the
 * folder's own name first (`project/src/a.ts`); every name is checked before it is used, nothing is
 * written to disk. Hard links are read as copies of the file they link to; devices, FIFOs and
 * sockets are refused.
 */
export async function readWorkingCopy(archive: NodeJS.ReadableStream, limits: WorkingCopyLimits): Promise<WorkingCopy> {
  const copy: WorkingCopy = { files: new Map(), refused: [], overLimit: undefined };
  const extract = tar.extract();
  const reading = pipeline(archive, extract).catch((error: unknown) => {
    if (copy.overLimit === undefined) throw error;
  });
  let entries = 0;
  let bytes = 0;
  for await (const entry of extract) {
    const header = entry.header;
    const rel = header.name.split('/').slice(1).join('/').replace(/\/$/, '');
    entries += 1;
    if (entries > limits.maxFiles || bytes + (header.size ?? 0) > limits.maxBytes) {
      copy.overLimit = entries > limits.maxFiles
        ? `the project holds more than ${limits.maxFiles} entries`
        : `the project holds more than ${limits.maxBytes} bytes`;
      (archive as unknown as { destroy?: () => void }).destroy?.();
      extract.destroy();
      break;
    }
    const take = classify(header, rel, copy);
    if (take === undefined) {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const content = take.symlink !== undefined ? Buffer.from(take.symlink) : Buffer.concat(chunks);
    bytes += content.length;
    copy.files.set(rel, { path: rel, mode: take.mode, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), content, ...(take.symlink !== undefined ? { symlink: take.symlink } : {}) });
  }
  await reading;
  return copy;
}

/** Whether an entry is part of the change (and with which mode / link target), recording a refusal when not. */
function classify(header: tar.Header, rel: string, copy: WorkingCopy): { mode: number; symlink?: string } | undefined {
  if (rel === '' || header.type === 'directory') return undefined; // folders exist through their files
  const refuse = (reason: string) => {
    copy.refused.push({ path: rel, reason });
    return undefined;
  };
  const badName = unsafeName(rel);
  if (badName) return refuse(badName);
  const git = gitInternal(rel);
  if (git === 'repository') {
    const hook = /^\.git\/hooks\/[^/]+$/i.test(rel) && !rel.endsWith('.sample');
    return hook ? refuse('a git hook: the repository is carried as a bundle of commits, never its hooks') : undefined;
  }
  if (git === 'refused') return refuse('a .git folder inside the project: git internals are never part of the change');
  const mode = (header.mode ?? 0o644) & 0o777;
  if ((header.mode ?? 0) & 0o7000) copy.refused.push({ path: rel, reason: `setuid/setgid/sticky bits (${((header.mode ?? 0) & 0o7000).toString(8)}) dropped` });
  if (header.type === 'symlink') {
    const target = header.linkname ?? '';
    if (symlinkLeaves(rel, target)) return refuse(`a symlink pointing outside the project (${JSON.stringify(target)})`);
    return { mode: 0o777, symlink: target };
  }
  if (header.type === 'link') {
    const source = copy.files.get((header.linkname ?? '').split('/').slice(1).join('/'));
    if (!source || source.symlink !== undefined) return refuse('a hard link to something that is not a file of the change');
    copy.files.set(rel, { ...source, path: rel, mode });
    return undefined;
  }
  if (header.type !== 'file' && header.type !== 'contiguous-file') return refuse(`not a regular file (${header.type ?? 'unknown'})`);
  return { mode };
}
