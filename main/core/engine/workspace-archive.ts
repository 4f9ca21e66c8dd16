import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { AGENT_UID } from './hardening.js';
import { sparseFileWriter } from './sparse-file.js';

export interface InputFile {
  /** Path inside the container. */
  path: string;
  /** The host file it was copied from. */
  from: string;
  size: number;
  sha256: string;
}

/**
 * The tar stream that seeds a task's workspace: inputs owned by root and not writable (so the agent,
 * which has no capabilities, cannot change them), and empty output folders owned by the agent.
 * Symlinks are copied as links and never followed, so a link in an input folder cannot pull other
 * host files into the sandbox; sockets, devices and FIFOs are left out.
 */
export function packWorkspace(
  workdir: string,
  inputs: { from: string; to: string }[],
  outputs: string[],
  onInput: (file: InputFile) => void,
): NodeJS.ReadableStream {
  const pack = tar.pack();
  const written = new Set<string>();
  const mtime = new Date();
  const dir = (rel: string, uid: number, mode: number) => {
    if (written.has(rel)) return;
    written.add(rel);
    pack.entry({ name: `${rel}/`, type: 'directory', mode, uid, gid: uid, mtime });
  };
  const parents = (rel: string, uid: number, mode: number) => {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) dir(parts.slice(0, i).join('/'), uid, mode);
  };

  (async () => {
    for (const input of inputs) {
      const rel = path.posix.relative(workdir, input.to);
      parents(rel, 0, 0o555);
      await addTree(pack, input.from, rel, input.to, dir, onInput);
    }
    for (const output of outputs) {
      const rel = path.posix.relative(workdir, output);
      parents(rel, AGENT_UID, 0o755);
      dir(rel, AGENT_UID, 0o755);
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  // tar-stream's streams (streamx) pipe into Node streams, which is all the engine client does.
  return pack as unknown as NodeJS.ReadableStream;
}

async function addTree(
  pack: tar.Pack,
  hostPath: string,
  rel: string,
  containerPath: string,
  dir: (rel: string, uid: number, mode: number) => void,
  onInput: (file: InputFile) => void,
): Promise<void> {
  const stat = await fs.promises.lstat(hostPath);
  if (stat.isDirectory()) {
    dir(rel, 0, 0o555);
    const names = (await fs.promises.readdir(hostPath)).sort();
    for (const name of names) {
      await addTree(pack, path.join(hostPath, name), `${rel}/${name}`, path.posix.join(containerPath, name), dir, onInput);
    }
  } else if (stat.isFile()) {
    const mode = stat.mode & 0o111 ? 0o555 : 0o444;
    const hash = createHash('sha256');
    const entry = pack.entry({ name: rel, type: 'file', size: stat.size, mode, uid: 0, gid: 0, mtime: stat.mtime });
    const source = fs.createReadStream(hostPath);
    source.on('data', (chunk) => hash.update(chunk));
    await pipeline(source, entry);
    onInput({ path: containerPath, from: hostPath, size: stat.size, sha256: hash.digest('hex') });
  } else if (stat.isSymbolicLink()) {
    const target = await fs.promises.readlink(hostPath);
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name: rel, type: 'symlink', linkname: target, mode: 0o777, uid: 0, gid: 0 }, (error) => (error ? reject(error) : resolve()));
    });
  }
  // sockets, FIFOs and devices: never copied.
}

export interface OutputFile {
  /** Path inside the container. */
  path: string;
  /** Where it landed on the host. */
  file: string;
  size: number;
  sha256: string;
}

export interface ExtractLimits {
  maxBytes: number;
  maxFiles: number;
}

export interface ExtractResult {
  files: OutputFile[];
  skipped: { path: string; reason: string }[];
  truncated: { reason: string } | undefined;
}

/**
 * Unpacks an engine archive of one output folder into `destDir`. Only regular files and folders are
 * written (a hard link is collected again under its own name, as a copy of the file it links to);
 * every name is checked to stay inside destDir, no existing symlink is followed (parents are
 * checked, files opened with O_NOFOLLOW), and totals are capped so an agent cannot fill the disk:
 * every entry counts towards the file cap (folders, links and skipped ones too), an entry over the
 * bytes left ends the extraction without reading it (the engine's archive carries a sparse file's
 * zeros in full), and zero blocks are written as holes.
 */
export async function extractOutputs(
  archive: NodeJS.ReadableStream,
  containerPath: string,
  destDir: string,
  limits: ExtractLimits,
  totals: { bytes: number; files: number } = { bytes: 0, files: 0 },
): Promise<ExtractResult> {
  const result: ExtractResult = { files: [], skipped: [], truncated: undefined };
  await fs.promises.mkdir(destDir, { recursive: true });
  const root = await fs.promises.realpath(destDir);
  const extract = tar.extract();
  const reading = pipeline(archive, extract).catch((error: unknown) => {
    if (!result.truncated) throw error;
  });
  /** What was collected, by name in the archive: where a later hard link to it finds its data. */
  const collected = new Map<string, OutputFile>();
  const stop = (reason: string) => {
    result.truncated = { reason };
    // Nothing after this entry is read: ending the stream also ends the engine's archive.
    (archive as unknown as { destroy?: () => void }).destroy?.();
    extract.destroy();
  };

  for await (const entry of extract) {
    const header = entry.header;
    // The engine names entries after the folder asked for: `out/report.md` for /workspace/out.
    const rel = inArchive(header.name);
    const shownPath = rel ? `${containerPath}/${rel}` : containerPath; // not normalised: show what was attempted
    if (totals.files + 1 > limits.maxFiles) {
      stop(`output limit reached at ${shownPath}: more than ${limits.maxFiles} entries (files, folders and links all count); the rest was not collected`);
      break;
    }
    totals.files += 1;
    const problem = rel === '' ? undefined : unsafeName(rel);
    if (problem) {
      result.skipped.push({ path: shownPath, reason: problem });
      entry.resume();
      continue;
    }
    if (header.type === 'directory') {
      if (rel) {
        try {
          await ensureDirectory(root, rel.split('/'));
        } catch (error) {
          result.skipped.push({ path: shownPath, reason: (error as Error).message });
        }
      }
      entry.resume();
      continue;
    }
    const isFile = header.type === 'file' || header.type === 'contiguous-file';
    const linked = header.type === 'link' ? collected.get(inArchive(header.linkname ?? '')) : undefined;
    if (!isFile && !linked) {
      const reason = header.type === 'link' ? `a hard link to ${containerPath}/${inArchive(header.linkname ?? '')}, which was not collected` : `${header.type} not collected`;
      result.skipped.push({ path: shownPath, reason });
      entry.resume();
      continue;
    }
    const size = linked ? linked.size : header.size ?? 0;
    if (totals.bytes + size > limits.maxBytes) {
      stop(`output limit reached at ${shownPath}: its ${size} bytes are more than the ${limits.maxBytes - totals.bytes} left of ${limits.maxBytes}; it and the rest were not collected`);
      break;
    }
    const target = await openTarget(root, rel.split('/'));
    if (typeof target === 'string') {
      result.skipped.push({ path: shownPath, reason: target });
      entry.resume();
      continue;
    }
    const hash = createHash('sha256');
    try {
      if (linked) {
        entry.resume();
        await pipeline(fs.createReadStream(linked.file), sparseFileWriter(target.handle, hash));
      } else {
        await pipeline(entry, sparseFileWriter(target.handle, hash));
      }
    } finally {
      await target.handle.close();
    }
    totals.bytes += size;
    const file: OutputFile = { path: shownPath, file: target.file, size, sha256: hash.digest('hex') };
    collected.set(rel, file);
    result.files.push(file);
  }
  await reading;
  return result;
}

/** An archive entry's name below the folder asked for (`out/a/b` → `a/b`). */
function inArchive(name: string): string {
  return name.split('/').slice(1).filter((p) => p !== '').join('/');
}

function unsafeName(rel: string): string | undefined {
  const parts = rel.split('/');
  if (rel.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p.includes('\\') || p.includes('\0'))) {
    return 'unsafe path (absolute, .. or a separator) not collected';
  }
  return undefined;
}

/**
 * Opens the destination file without following a symlink anywhere on the way: returns the reason
 * as a string when the destination is not safe to write (the entry is then skipped, not fatal).
 */
async function openTarget(root: string, parts: string[]): Promise<{ handle: fs.promises.FileHandle; file: string } | string> {
  try {
    const parent = await ensureDirectory(root, parts.slice(0, -1));
    const file = path.join(parent, parts.at(-1)!);
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
    return { handle: await fs.promises.open(file, flags, 0o644), file };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'a symlink is already at the destination: not followed, not overwritten';
    if (code === 'EISDIR') return 'a folder is already at the destination';
    return (error as Error).message;
  }
}

/** mkdir -p under root, refusing to pass through anything that is not a real folder. */
async function ensureDirectory(root: string, parts: string[]): Promise<string> {
  let current = root;
  for (const part of parts) {
    current = path.join(current, part);
    try {
      const stat = await fs.promises.lstat(current);
      if (!stat.isDirectory()) throw new Error(`${path.relative(root, current)} exists on the host and is not a folder (a symlink is never followed)`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await fs.promises.mkdir(current, { mode: 0o755 });
    }
  }
  return current;
}
