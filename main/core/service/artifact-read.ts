/**
 * One artifact of a task read back for the app's Artifacts tab (shown inline, or saved elsewhere).
 * The audit trail's `fs.output` event names the file and its sha256; the file is agent-made and
 * could have been swapped since, so it is handed out only when it is still a regular file (never
 * through a symlink), within the size asked for, and its sha256 is still the recorded one.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { queryAuditTrail } from '../audit/query.js';
import { AirlockError } from '../errors.js';
import { visibleText } from '../text/visible.js';

/** What an inline preview may show: at most this many bytes (bigger ones are saved, not shown). */
export const PREVIEW_MAX_BYTES = 8 * 1024 * 1024;
/** Saving copies at most this much (the engine's own output limit). */
export const SAVE_MAX_BYTES = 2 * 1024 ** 3;

const SHA256 = /^[0-9a-f]{64}$/;

export interface RecordedArtifact {
  /** Its path inside the container, as the trail records it. */
  path: string;
  /** Where it landed on the host. */
  file: string;
  size: number;
  sha256: string;
}

/**
 * The trail's record of artifact `artifactPath` of `task` (a repeated path keeps the first). The
 * window names an artifact as it was shown to the person: with its hidden characters made visible
 * (text/visible.ts), so that form names it too; two artifacts that show as the same name are
 * refused rather than guessed between.
 */
export async function findArtifact(auditDir: string, task: string, artifactPath: string): Promise<RecordedArtifact> {
  let found: Record<string, unknown> | undefined;
  for await (const record of queryAuditTrail(auditDir, { task, kinds: ['fs.output'], order: 'asc' })) {
    const { path } = record.data;
    if (typeof path !== 'string' || (path !== artifactPath && visibleText(path) !== artifactPath)) continue;
    if (found === undefined) found = record.data;
    else if (found.path !== path) {
      throw new AirlockError('policy_refused', `two artifacts of ${task} show as ${artifactPath}`, 'their names differ only in hidden characters: open the artifacts folder to tell them apart');
    }
  }
  if (found === undefined) throw new AirlockError('not_found', `task ${task} has no artifact ${artifactPath} in the audit trail`);
  const { path, file, size, sha256 } = found as { path: string; file: unknown; size: unknown; sha256: unknown };
  if (typeof file !== 'string' || !file.startsWith('/') || typeof size !== 'number' || typeof sha256 !== 'string' || !SHA256.test(sha256)) {
    throw new AirlockError('not_found', `artifact ${artifactPath} of ${task} was not collected`, 'only collected files (with a sha256) can be shown or saved');
  }
  return { path, file, size, sha256 };
}

/**
 * The recorded artifact opened for reading, refused when it is no longer a regular file (a symlink
 * is not followed) or is larger than `maxBytes`. The caller closes it.
 */
export async function openRecordedArtifact(artifact: RecordedArtifact, maxBytes: number): Promise<{ handle: fs.promises.FileHandle; size: number }> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(artifact.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new AirlockError('policy_refused', `artifact ${artifact.path} is now a symlink: not followed`);
    throw new AirlockError('not_found', `artifact ${artifact.path} is gone (${code ?? 'unreadable'})`, 'its event in the audit trail still records what it was (sha256, size)');
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AirlockError('policy_refused', `artifact ${artifact.path} is no longer a regular file`);
    if (stat.size > maxBytes) {
      throw new AirlockError('policy_refused', `artifact ${artifact.path} is ${stat.size} bytes, more than the ${maxBytes} that can be read here`, 'save it and open it with another program');
    }
    return { handle, size: stat.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Refuses bytes whose sha256 is not the one the trail recorded. */
export function assertRecordedHash(artifact: RecordedArtifact, actual: string): void {
  if (actual !== artifact.sha256) {
    throw new AirlockError('policy_refused', `artifact ${artifact.path} was changed after it was collected: its sha256 is ${actual}, the audit trail recorded ${artifact.sha256}`,
      'the file is not the one the trail vouches for, so it is not shown or saved');
  }
}

/**
 * The bytes of a recorded artifact, refused when it is larger than `maxBytes`, is no longer a
 * regular file (a symlink is not followed), or is not the file the trail recorded.
 */
export async function readArtifactBytes(artifact: RecordedArtifact, maxBytes: number): Promise<Buffer> {
  const { handle, size } = await openRecordedArtifact(artifact, maxBytes);
  try {
    // Read at most one byte more than the limit: a file that grows while it is read is refused, not followed.
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, size + 1));
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    if (length > maxBytes || length !== size) throw new AirlockError('policy_refused', `artifact ${artifact.path} changed while it was read`);
    const bytes = buffer.subarray(0, length);
    assertRecordedHash(artifact, createHash('sha256').update(bytes).digest('hex'));
    return bytes;
  } finally {
    await handle.close();
  }
}

/** The kind of inline view an artifact gets, by its name and, for images, by its first bytes (never by the name alone). */
export type ArtifactView = { kind: 'image'; mime: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' } | { kind: 'markdown' | 'csv' | 'json' | 'text' } | { kind: 'binary' };

/** An artifact's bytes with the view the app may give them. */
export interface ArtifactContent {
  view: ArtifactView;
  bytes: Uint8Array;
}

export function viewOf(artifactPath: string, bytes: Uint8Array): ArtifactView {
  const image = imageMime(bytes);
  if (image) return { kind: 'image', mime: image };
  if (!isText(bytes)) return { kind: 'binary' };
  const name = artifactPath.toLowerCase();
  if (/\.(md|markdown)$/.test(name)) return { kind: 'markdown' };
  if (/\.(csv|tsv)$/.test(name)) return { kind: 'csv' };
  if (/\.json$/.test(name)) return { kind: 'json' };
  return { kind: 'text' };
}

/** Raster types only, by magic number: SVG (which can carry script) is shown as text. */
function imageMime(bytes: Uint8Array): 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | undefined {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return 'image/webp';
  return undefined;
}

/** UTF-8 without NUL: anything else is shown as binary (its size and sha256 only). */
function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
