import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Change, ChangedFile } from './diff.js';

/** change.json: what `airlock diff`/`apply` and the app read. */
export interface StoredChange {
  files: ChangedFile[];
  added: number;
  removed: number;
  patchSha256: string;
  /** Collected while the task ran: it may change again before the end. */
  live: boolean;
  /** What the working copy held that the change does not carry, and why. */
  refused: { path: string; reason: string }[];
  /** A git project's change as a branch fetched into the user's repository (`change.bundle` holds it too). */
  branch?: string;
}

/**
 * Writes change.patch, change.json and blobs/ under `changesDir`, replacing what a previous (live)
 * collection left: written beside it first, then renamed into place, so a reader never sees half.
 */
export function storeChange(changesDir: string, change: Change, extra: { live: boolean; refused: { path: string; reason: string }[]; branch?: string; bundle?: string }): StoredChange {
  const parent = path.dirname(changesDir);
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  const staging = fs.mkdtempSync(path.join(parent, '.changes-'));
  const patchSha256 = createHash('sha256').update(change.patch).digest('hex');
  const stored: StoredChange = { files: change.files, added: change.added, removed: change.removed, patchSha256, live: extra.live, refused: extra.refused, ...(extra.branch ? { branch: extra.branch } : {}) };
  fs.writeFileSync(path.join(staging, 'change.patch'), change.patch, { mode: 0o600 });
  fs.writeFileSync(path.join(staging, 'change.json'), `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  if (change.blobs.size > 0) {
    fs.mkdirSync(path.join(staging, 'blobs'), { mode: 0o700 });
    for (const [sha256, content] of change.blobs) fs.writeFileSync(path.join(staging, 'blobs', sha256), content, { mode: 0o600 });
  }
  if (extra.bundle) fs.copyFileSync(extra.bundle, path.join(staging, 'change.bundle'));
  const old = `${staging}-old`;
  const hadOld = fs.existsSync(changesDir);
  if (hadOld) fs.renameSync(changesDir, old);
  fs.renameSync(staging, changesDir);
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
  return stored;
}
