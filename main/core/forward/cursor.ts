/**
 * A forwarder's durable cursor: AIRLOCK_HOME/audit/forward/<name>.json. `acked` is the last record
 * the collector acknowledged; `sentThrough` the last record ever handed to a transport (written
 * BEFORE the send, so what follows a crash mid-send is marked redelivery); `headSent` the last signed
 * head acknowledged. Replaced atomically and fsynced on every acknowledgement. A damaged cursor is
 * refused by name: a forwarder never silently starts again from the first record or from the tip.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import type { ForwarderConfig } from './types.js';

export const FORWARD_DIR = 'forward';

export interface Cursor {
  v: 1;
  acked: { n: number; hash: string; time: string } | null;
  sentThrough: number;
  headSent: { n: number; at: string } | null;
  lastError?: { at: string; message: string };
  /** Which configuration (collector, filter) it last sent under (sendingAs): a change made by hand is recorded in the trail. */
  config?: string;
}

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const cursorSchema = z.strictObject({
  v: z.literal(1),
  acked: z.strictObject({ n: count, hash: z.string().regex(/^[0-9a-f]{64}$/), time: z.string().max(64) }).nullable(),
  sentThrough: count,
  headSent: z.strictObject({ n: count, at: z.string().max(64) }).nullable(),
  lastError: z.strictObject({ at: z.string().max(64), message: z.string().max(2000) }).optional(),
  config: z.string().regex(/^[0-9a-f]{64}$/).optional(),
}).refine((cursor) => cursor.sentThrough >= (cursor.acked?.n ?? 0), { message: 'sentThrough is before acked' });

/** What a forwarder sends, and to whom, as one hash (what `audit.forward` records name). */
export function sendingAs(config: ForwarderConfig): string {
  const { kind, url, encoding, caFile, filter } = config;
  return createHash('sha256').update(JSON.stringify({ kind, url, encoding: encoding ?? null, caFile: caFile ?? null, filter: filter ?? null })).digest('hex');
}

export function freshCursor(): Cursor {
  return { v: 1, acked: null, sentThrough: 0, headSent: null };
}

/** The cursor of forwarder `name` in AIRLOCK_HOME/audit. */
export class CursorFile {
  readonly file: string;

  constructor(auditDir: string, name: string) {
    this.file = path.join(auditDir, FORWARD_DIR, `${name}.json`);
  }

  /** The cursor; a fresh one when there is none (a forwarder not started yet); an AirlockError naming the file when damaged. */
  read(): Cursor {
    let text: string;
    try {
      if (fs.statSync(this.file).size > 64 * 1024) throw this.#damaged('it is larger than any cursor');
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return freshCursor();
      if (error instanceof AirlockError) throw error;
      throw this.#damaged((error as Error).message);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.#damaged('it is not JSON');
    }
    const parsed = cursorSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw this.#damaged(`${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'the wrong shape'}`);
    }
    return parsed.data as Cursor;
  }

  /** Replaces the cursor: temp file, fsync, rename, fsync of the folder. */
  async write(cursor: Cursor): Promise<void> {
    const dir = path.dirname(this.file);
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const handle = await fs.promises.open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(cursor)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.rename(temp, this.file);
    } catch (error) {
      await fs.promises.rm(temp, { force: true });
      throw error;
    }
    const folder = await fs.promises.open(dir, 'r').catch(() => undefined);
    await folder?.sync().catch(() => undefined);
    await folder?.close();
  }

  remove(): void {
    fs.rmSync(this.file, { force: true });
  }

  /** The refusal of this cursor for `detail` (also when it parses but does not match the trail). */
  damaged(detail: string): AirlockError {
    return this.#damaged(detail);
  }

  #damaged(detail: string): AirlockError {
    return new AirlockError('state_damaged', `${this.file} (the forwarder's cursor) is damaged: ${detail}`,
      `Airlock has not changed it and sends nothing for this forwarder. Repair it by hand, or move it aside (mv '${this.file}' '${this.file}.damaged'): the forwarder then sends the trail again from its oldest kept record`);
  }
}
