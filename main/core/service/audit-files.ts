/** The service's audit helpers that touch files: an export to a file a client chose, and tamper notices. */
import fs from 'node:fs';
import path from 'node:path';
import type { AirlockEvent } from '../audit/events.js';
import { exportAuditTrail, type ExportFormat } from '../audit/export.js';
import type { AuditStore } from '../audit/store.js';
import { AirlockError } from '../errors.js';
import type { AuditExportResult } from './types.js';

/** Writes the trail in `dir` (or one task's records), oldest first, to `file` (0600). */
export async function exportAuditToFile(dir: string, file: string, format: ExportFormat, task?: string): Promise<AuditExportResult> {
  const absolute = path.resolve(file);
  const out = fs.createWriteStream(absolute, { mode: 0o600 });
  const opened = new Promise<void>((resolve, reject) => out.once('open', () => resolve()).once('error', reject));
  await opened.catch((error: NodeJS.ErrnoException) => {
    throw new AirlockError('bad_argument', `cannot write ${absolute}: ${error.code ?? error.message}`, 'choose a folder you can write to');
  });
  const write = (chunk: string) => (out.write(chunk) ? undefined : new Promise<void>((resolve) => out.once('drain', () => resolve())));
  try {
    const records = await exportAuditTrail(dir, format, task ? { task } : {}, write);
    return { file: absolute, records };
  } finally {
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
}

/** The trail's opener, telling `onTamper` of every audit.tamper record the trail writes (once per store). */
export function withTamperNotices(audit: () => AuditStore, onTamper: (record: AirlockEvent) => void): () => AuditStore {
  const hooked = new WeakSet<AuditStore>();
  return () => {
    const store = audit();
    if (!hooked.has(store)) {
      hooked.add(store);
      store.onTamper(onTamper);
    }
    return store;
  };
}
