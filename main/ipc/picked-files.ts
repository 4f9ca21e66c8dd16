/**
 * The host files a person chose for a run (the run dialog's OS dialogs, or files dropped on it),
 * held in the app's main process. The window gets an opaque, unguessable token for each (and the
 * name to show), never the path: only main swaps a token for its path, when the SAME window runs a
 * task with it, before the token expires. A compromised page can therefore name no file the person
 * did not choose in that window.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PickedFile } from '../../preload/contract.js';
import { AirlockError } from '../core/errors.js';
import type { Caller } from '../core/server/dispatch.js';

/** How long a choice stays usable: long enough to fill in the dialog, short enough not to linger. */
export const PICK_TTL_MS = 30 * 60_000;
/** At most this many live choices per window (the oldest goes first): a page cannot make main hoard paths. */
export const MAX_PICKS_PER_WINDOW = 500;

interface Pick {
  hostPath: string;
  expiresAt: number;
}

export interface PickedFilesDeps {
  /** Milliseconds since the epoch (injected: tests use a fake clock). */
  now: () => number;
  /** Random bytes for tokens (injected only to test what a token looks like). */
  random?: (size: number) => Buffer;
  ttlMs?: number;
}

export class PickedFiles {
  readonly #now: () => number;
  readonly #random: (size: number) => Buffer;
  readonly #ttlMs: number;
  /** Per window: token → choice. A window's choices go with it (closed, reloaded, crashed). */
  readonly #byCaller = new Map<Caller, Map<string, Pick>>();

  constructor(deps: PickedFilesDeps) {
    this.#now = deps.now;
    this.#random = deps.random ?? randomBytes;
    this.#ttlMs = deps.ttlMs ?? PICK_TTL_MS;
  }

  /** Registers a host path the person chose in this window; what the window may see of it. */
  add(caller: Caller, hostPath: string): PickedFile {
    const picks = this.#picksOf(caller);
    this.#dropExpired(picks);
    while (picks.size >= MAX_PICKS_PER_WINDOW) picks.delete(picks.keys().next().value!);
    const token = `pick_${this.#random(32).toString('base64url')}`;
    picks.set(token, { hostPath, expiresAt: this.#now() + this.#ttlMs });
    return { token, ...describeHostPath(hostPath) };
  }

  /**
   * The host path behind a token this window holds. Refused, with a clear error, when the token is
   * unknown, expired, or another window's (the same answer for all three: a page learns nothing).
   */
  resolve(caller: Caller, token: string, what: string): string {
    const picks = this.#byCaller.get(caller);
    const pick = picks?.get(token);
    if (!picks || !pick || pick.expiresAt <= this.#now()) {
      if (pick) picks?.delete(token);
      throw new AirlockError('bad_argument', `${what}: this window did not choose that file, or the choice expired`, 'choose it again in the run dialog');
    }
    return pick.hostPath;
  }

  /** Live choices of a window (tests). */
  count(caller: Caller): number {
    const picks = this.#byCaller.get(caller);
    if (!picks) return 0;
    this.#dropExpired(picks);
    return picks.size;
  }

  #picksOf(caller: Caller): Map<string, Pick> {
    let picks = this.#byCaller.get(caller);
    if (!picks) {
      picks = new Map();
      this.#byCaller.set(caller, picks);
      caller.onGone(() => this.#byCaller.delete(caller));
    }
    return picks;
  }

  #dropExpired(picks: Map<string, Pick>): void {
    const now = this.#now();
    for (const [token, pick] of picks) if (pick.expiresAt <= now) picks.delete(token);
  }
}

/** What the run dialog shows of a chosen path: its last part, whether it is a folder, a file's size. */
export function describeHostPath(hostPath: string): Omit<PickedFile, 'token'> {
  const name = path.basename(hostPath) || hostPath;
  try {
    const stat = fs.statSync(hostPath);
    return stat.isDirectory() ? { name, kind: 'folder' } : { name, kind: 'file', size: stat.size };
  } catch {
    return { name, kind: 'missing' };
  }
}
