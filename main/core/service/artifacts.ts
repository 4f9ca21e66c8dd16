/**
 * The use cases on a task's artifacts (the app's Artifacts tab): read one to show it inline, save a
 * copy where the person chose (the app's save dialog; the engine writes it), find its host file for
 * the file manager. Each artifact is agent-made and named by the audit trail's `fs.output` record:
 * it is handed out only while it is still that regular file (no symlink followed, anywhere below the
 * task's artifacts folder) with the recorded sha256. A save is recorded (`artifact.saved`), and so is
 * a refusal to save or reveal (`artifact.refused`), before the call returns.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { EventBus } from '../audit/bus.js';
import { queryAuditTrail } from '../audit/query.js';
import { AirlockError } from '../errors.js';
import type { HomeLayout } from '../home.js';
import {
  assertRecordedHash, findArtifact, openRecordedArtifact, PREVIEW_MAX_BYTES, readArtifactBytes, SAVE_MAX_BYTES, viewOf, type ArtifactContent, type RecordedArtifact,
} from './artifact-read.js';

/** A copy of an artifact the engine wrote: where, how big, and the sha256 it was checked against. */
export interface SavedArtifact {
  file: string;
  size: number;
  sha256: string;
}

export interface ArtifactDeskDeps {
  home: HomeLayout;
  bus: EventBus;
  /** Makes the trail current on disk (its `fs.output` records) before it is read; never rejects. */
  flushAudit: () => Promise<void>;
}

const CHUNK_BYTES = 1024 * 1024;

export class ArtifactDesk {
  readonly #deps: ArtifactDeskDeps;

  constructor(deps: ArtifactDeskDeps) {
    this.#deps = deps;
  }

  /** The bytes for an inline preview, and how they may be shown. */
  async read(task: string, artifactPath: string): Promise<ArtifactContent> {
    await this.#deps.flushAudit();
    const bytes = await readArtifactBytes(await findArtifact(this.#deps.home.audit, task, artifactPath), PREVIEW_MAX_BYTES);
    return { view: viewOf(artifactPath, bytes), bytes };
  }

  /** Copies the artifact to `destination` (a file the user chose), whole or not at all. */
  async saveTo(task: string, artifactPath: string, destination: string): Promise<SavedArtifact> {
    const artifact = await this.#checked(task, artifactPath, 'save');
    const saved = await this.#refusalRecorded(task, artifactPath, 'save', () => copyArtifact(artifact, destination));
    this.#record(task, 'artifact.saved', { path: artifact.path, sha256: saved.sha256, size: saved.size, destination: saved.file });
    await this.#deps.flushAudit();
    return saved;
  }

  /** The artifact's host file, for the file manager to show: checked as a save is, never written. */
  async locate(task: string, artifactPath: string): Promise<{ file: string }> {
    const artifact = await this.#checked(task, artifactPath, 'reveal');
    await this.#refusalRecorded(task, artifactPath, 'reveal', () => hashArtifact(artifact));
    return { file: artifact.file };
  }

  /** The trail's record of it, its file below the task's artifacts folder with no symlink on the way. */
  async #checked(task: string, artifactPath: string, action: 'save' | 'reveal'): Promise<RecordedArtifact> {
    await this.#deps.flushAudit();
    const artifact = await findArtifact(this.#deps.home.audit, task, artifactPath);
    const folder = await artifactsFolderOf(this.#deps.home, task);
    await this.#refusalRecorded(task, artifactPath, action, () => assertInsideFolder(artifact, folder));
    return artifact;
  }

  async #refusalRecorded<T>(task: string, artifactPath: string, action: 'save' | 'reveal', work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      this.#record(task, 'artifact.refused', { path: artifactPath, action, reason: error instanceof Error ? error.message : String(error) });
      await this.#deps.flushAudit();
      throw error;
    }
  }

  #record(task: string, kind: 'artifact.saved' | 'artifact.refused', data: Record<string, unknown>): void {
    this.#deps.bus.emit({ task, agent: { name: 'airlock', digest: '' }, actor: 'user', kind, data });
  }
}

/** Where the task's outputs were collected: its task.created record says (an --output folder), else AIRLOCK_HOME's. */
async function artifactsFolderOf(home: HomeLayout, task: string): Promise<string> {
  for await (const record of queryAuditTrail(home.audit, { task, kinds: ['task.created'], order: 'asc' })) {
    const { artifactsDir } = record.data;
    if (typeof artifactsDir === 'string' && path.isAbsolute(artifactsDir)) return artifactsDir;
    break;
  }
  return home.artifacts(task);
}

/**
 * The file is below `folder`, and no folder between them is a symlink (its real path is where its
 * path says; symlinks above the artifacts folder, such as a symlinked home, are the user's own).
 */
async function assertInsideFolder(artifact: RecordedArtifact, folder: string): Promise<void> {
  const relative = path.relative(folder, path.resolve(artifact.file));
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new AirlockError('policy_refused', `artifact ${artifact.path} is not in the task's artifacts folder`);
  }
  let realParent: string;
  let realFolder: string;
  try {
    [realParent, realFolder] = await Promise.all([fs.promises.realpath(path.dirname(path.resolve(artifact.file))), fs.promises.realpath(folder)]);
  } catch (error) {
    throw new AirlockError('not_found', `artifact ${artifact.path} is gone (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (path.relative(realFolder, realParent) !== path.dirname(relative).replace(/^\.$/, '')) {
    throw new AirlockError('policy_refused', `artifact ${artifact.path} is now behind a symlinked folder: not followed`);
  }
}

/** Streams the artifact through sha256 (bounded by its recorded size) and refuses one that is not what the trail recorded. */
async function hashArtifact(artifact: RecordedArtifact, sink?: fs.promises.FileHandle): Promise<{ size: number; sha256: string }> {
  const { handle, size } = await openRecordedArtifact(artifact, SAVE_MAX_BYTES);
  try {
    if (size !== artifact.size) {
      throw new AirlockError('policy_refused', `artifact ${artifact.path} was changed after it was collected: it is ${size} bytes, the audit trail recorded ${artifact.size}`,
        'the file is not the one the trail vouches for, so it is not saved or revealed');
    }
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      // A file that grows while it is read is refused, not followed.
      if (total > size) throw new AirlockError('policy_refused', `artifact ${artifact.path} changed while it was read`);
      const bytes = chunk.subarray(0, bytesRead);
      hash.update(bytes);
      if (sink) await sink.write(bytes);
    }
    if (total !== size) throw new AirlockError('policy_refused', `artifact ${artifact.path} changed while it was read`);
    const sha256 = hash.digest('hex');
    assertRecordedHash(artifact, sha256);
    return { size, sha256 };
  } finally {
    await handle.close();
  }
}

/**
 * Writes a checked copy beside `destination` under a fresh name, then renames it into place: the
 * destination holds the whole artifact or is left as it was. Never an executable bit.
 */
async function copyArtifact(artifact: RecordedArtifact, destination: string): Promise<SavedArtifact> {
  const file = path.resolve(destination);
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.airlock-${randomBytes(6).toString('hex')}.part`);
  let sink: fs.promises.FileHandle;
  try {
    sink = await fs.promises.open(partial, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    throw new AirlockError('bad_argument', `cannot write beside ${file} (${(error as NodeJS.ErrnoException).code ?? 'unwritable'})`, 'choose a folder you can write to');
  }
  try {
    const { size, sha256 } = await hashArtifact(artifact, sink);
    await sink.sync();
    await sink.close();
    await fs.promises.rename(partial, file);
    return { file, size, sha256 };
  } catch (error) {
    await sink.close().catch(() => undefined); // closed already when the rename failed
    await fs.promises.rm(partial, { force: true });
    throw error;
  }
}
