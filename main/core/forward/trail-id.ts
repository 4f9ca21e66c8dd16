/**
 * AIRLOCK_HOME/audit/trail-id: 32 random hex characters, made once (0600) by the first forwarder
 * start. Every forwarded item carries it, so a collector tells two machines' (two homes') trails apart.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';

export const TRAIL_ID_FILE = 'trail-id';
const TRAIL_ID_RE = /^[0-9a-f]{32}$/;

/** The trail's id, made if there is none yet; a file that is not one is refused by name, never replaced. */
export function readOrMakeTrailId(auditDir: string): string {
  const file = path.join(auditDir, TRAIL_ID_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    const existing = readTrailId(file);
    if (existing !== undefined) return existing;
    fs.mkdirSync(auditDir, { recursive: true, mode: 0o700 });
    const id = randomBytes(16).toString('hex');
    try {
      // Exclusive: two processes making it at once end with one id (the loser reads the winner's).
      const fd = fs.openSync(file, 'wx', 0o600);
      try {
        fs.writeFileSync(fd, `${id}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return id;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new AirlockError('internal', `cannot write ${file}: ${(error as Error).message}`, 'check the disk and the folder\'s permissions');
    }
  }
  throw new AirlockError('internal', `cannot make ${file}`, 'check the folder\'s permissions');
}

function readTrailId(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AirlockError('state_damaged', `cannot read ${file} (the trail's id): ${(error as Error).message}`, 'make it a file you can read (mode 0600)');
  }
  const id = text.trim();
  if (!TRAIL_ID_RE.test(id)) {
    throw new AirlockError('state_damaged', `${file} (the trail's id) is damaged: it is not 32 hex characters`,
      `Airlock has not changed it. Restore it from a backup (collectors know this trail by it), or move it aside (mv '${file}' '${file}.damaged') and a new id is made: collectors then see a new trail`);
  }
  return id;
}
