import { createHash } from 'node:crypto';
import path from 'node:path';
import type { SecretStore } from '../credentials/keychain.js';

/** A record of the trail by its number and hash. */
export interface TrailEnd {
  n: number;
  hash: string;
}

/**
 * The last record this machine signed a head for, kept beside the signing key (in the keychain,
 * which someone who can only write the trail's files cannot change): a monotonic counter, so a
 * trail rolled back to an older signed head, cut, or wiped is told apart from a fresh one.
 */
export interface TrailEnds {
  /** Undefined when no head was ever signed for the trail in `dir` on this machine. */
  lastSigned(dir: string): TrailEnd | undefined;
  /** Raises the counter to `end` if it is further on; never lowers it. */
  rememberSigned(dir: string, end: TrailEnd): void;
}

/**
 * One keychain entry per trail folder (AIRLOCK_HOME/audit, by its absolute path): several homes
 * on one machine share the signing key, never their counters.
 */
export function trailEndAccount(dir: string): string {
  return `audit-trail-end:${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 24)}`;
}

export function keychainTrailEnds(keychain: SecretStore): TrailEnds {
  const lastSigned = (dir: string): TrailEnd | undefined => {
    const text = keychain.get(trailEndAccount(dir));
    if (text === null) return undefined;
    const end = parseTrailEnd(text);
    // Only Airlock writes this entry: if it is not readable, nothing about the trail can be vouched for.
    if (!end) throw new Error(`the keychain entry ${trailEndAccount(dir)} is not a trail end`);
    return end;
  };
  return {
    lastSigned,
    rememberSigned(dir, end) {
      const kept = lastSigned(dir);
      if (kept && kept.n >= end.n) return;
      keychain.set(trailEndAccount(dir), JSON.stringify({ n: end.n, hash: end.hash }));
    },
  };
}

export function memoryTrailEnds(): TrailEnds {
  const ends = new Map<string, TrailEnd>();
  return {
    lastSigned: (dir) => ends.get(path.resolve(dir)),
    rememberSigned(dir, end) {
      const kept = ends.get(path.resolve(dir));
      if (!kept || kept.n < end.n) ends.set(path.resolve(dir), { n: end.n, hash: end.hash });
    },
  };
}

function parseTrailEnd(text: string): TrailEnd | undefined {
  try {
    const value = JSON.parse(text) as Partial<TrailEnd>;
    return Number.isSafeInteger(value.n) && typeof value.hash === 'string' ? { n: value.n!, hash: value.hash } : undefined;
  } catch {
    return undefined;
  }
}
