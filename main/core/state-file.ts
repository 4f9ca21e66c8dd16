// Airlock's JSON state files in AIRLOCK_HOME (credentials.json, approvals.json, agents.json): each
// is validated whenever it is read, so a damaged one (not JSON, the wrong shape, a version this
// Airlock does not know) is an error that names the file and says how to recover — never read as
// empty and then overwritten, which would lose what the user had. A change is a read-modify-write
// under a lock shared by every Airlock process of the user (the CLI in-process, the engine, the
// app), written to a temp file that is synced and renamed over the file, so a reader sees the old
// file or the new one, never half of one, and no writer's change is lost to another's.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import type { z } from 'zod';
import { AirlockError } from './errors.js';

/** A state file is a small list: anything larger is not one Airlock wrote. */
export const MAX_STATE_FILE_BYTES = 16 * 1024 * 1024;
/** How long a change waits for another process's change to the same file. */
const LOCK_WAIT_MS = 10_000;
/** A lock older than this is a crashed writer's (proper-lockfile's minimum is 2 s): taken over. */
const LOCK_STALE_MS = 5_000;
const LOCK_POLL_MS = 5;

export interface StateFileFormat<T> {
  /** What the file holds, for the messages: "the credential list". */
  holds: string;
  /** What the user does, after moving the damaged file aside, to get its content back. */
  recover: string;
  /** The version this Airlock writes (the file's `v`). */
  version: number;
  /** A schema for each version this Airlock reads, whole file (with `v`) to value: older ones migrate as they are read. */
  readers: Readonly<Record<number, z.ZodType<T>>>;
  /** The value of a file that does not exist yet. */
  empty(): T;
  /** The file's content for a value, without `v`. */
  encode(value: T): Record<string, unknown>;
}

export class StateFile<T> {
  readonly file: string;
  readonly #format: StateFileFormat<T>;

  constructor(file: string, format: StateFileFormat<T>) {
    this.file = file;
    this.#format = format;
  }

  /** The file's value: `empty()` when it does not exist; an AirlockError naming it when it is damaged. */
  read(): T {
    let text: string;
    try {
      const size = fs.statSync(this.file).size;
      if (size > MAX_STATE_FILE_BYTES) throw this.#damaged(`it is ${size} bytes, more than ${MAX_STATE_FILE_BYTES} (${this.#format.holds} is never that large)`);
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.#format.empty();
      if (error instanceof AirlockError) throw error;
      throw new AirlockError('state_damaged', `cannot read ${this.file} (${this.#format.holds}): ${(error as Error).message}`,
        'make it a file you can read and write (it is yours, mode 0600); Airlock has not changed it');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw this.#damaged(`it is not JSON (${(error as Error).message})`);
    }
    const version = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as { v?: unknown }).v : undefined;
    if (typeof version !== 'number' || !Number.isSafeInteger(version)) throw this.#damaged('it has no version (`v`)');
    const reader = this.#format.readers[version];
    if (!reader) {
      if (version > this.#format.version) {
        throw new AirlockError('state_damaged', `${this.file} (${this.#format.holds}) was written by a newer Airlock: version ${version}, this one reads up to ${this.#format.version}`,
          `Airlock has not changed it. Use the newer Airlock, or move it aside (mv '${this.file}' '${this.file}.newer') and ${this.#format.recover}`);
      }
      throw this.#damaged(`version ${version} is not one Airlock ever wrote`);
    }
    const parsed = reader.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw this.#damaged(`${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'the wrong shape'}`);
    }
    return parsed.data;
  }

  /**
   * Changes the file under the lock: reads it (a damaged file stops here, unchanged), applies
   * `change` (which may throw: nothing is written) and replaces the file atomically.
   */
  update(change: (current: T) => T): T {
    const release = this.#lock();
    try {
      const next = change(this.read());
      this.#replace(next);
      return next;
    } finally {
      release();
    }
  }

  #replace(value: T): void {
    const temp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const content = `${JSON.stringify({ v: this.#format.version, ...this.#format.encode(value) }, null, 2)}\n`;
    try {
      const fd = fs.openSync(temp, 'wx', 0o600);
      try {
        fs.writeFileSync(fd, content);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, this.file);
    } catch (error) {
      fs.rmSync(temp, { force: true });
      throw new AirlockError('internal', `cannot write ${this.file} (${this.#format.holds}): ${(error as Error).message}`, 'check the disk and the folder\'s permissions; the file is as it was');
    }
  }

  /** The lock every Airlock process takes to change this file (a folder next to it), waited for briefly. */
  #lock(): () => void {
    const deadline = Date.now() + LOCK_WAIT_MS;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      try {
        fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
        const release = lockfile.lockSync(this.file, { realpath: false, lockfilePath: `${this.file}.lock`, stale: LOCK_STALE_MS, onCompromised: () => undefined });
        return () => {
          try {
            release();
          } catch {
            // Already taken over as stale: the change was made and written; nothing to undo.
          }
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
          throw new AirlockError('internal', `cannot lock ${this.file} (${this.#format.holds}): ${(error as Error).message}`, 'check the folder\'s permissions');
        }
        if (Date.now() >= deadline) {
          throw new AirlockError('internal', `${this.file} (${this.#format.holds}) is being changed by another Airlock process`, `try again; if none is running, remove ${this.file}.lock`);
        }
        Atomics.wait(pause, 0, 0, LOCK_POLL_MS); // a synchronous pause: the change itself is synchronous
      }
    }
  }

  #damaged(detail: string): AirlockError {
    const aside = `${this.file}.damaged`;
    return new AirlockError('state_damaged', `${this.file} (${this.#format.holds}) is damaged: ${detail}`,
      `Airlock has not changed it. Repair it by hand, or move it aside (mv '${this.file}' '${aside}') and ${this.#format.recover}`);
  }
}
