import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Segment } from './segments.js';

/** audit/torn: what a crash left half-written. audit/tampered: what someone without the key wrote. */
export const TORN_DIR = 'torn';
export const TAMPERED_DIR = 'tampered';

/** Bytes of a segment from `start` on (the whole file when 0). */
export interface SegmentPart {
  segment: Segment;
  start: number;
}

export interface SetAsideEntry {
  /** The segment the bytes were in. */
  segment: string;
  offset: number;
  bytes: number;
  sha256: string;
  /** Where they are now, relative to the audit folder. */
  keptAs: string;
}

/**
 * Moves bytes out of the chain's files and keeps them (never deletes them): a whole segment is
 * renamed, the end of one is copied out and the segment cut back. What was moved is described by
 * size and hash, so the record that reports it pins the evidence.
 */
export async function setAside(dir: string, folder: typeof TORN_DIR | typeof TAMPERED_DIR, parts: SegmentPart[]): Promise<SetAsideEntry[]> {
  const target = path.join(dir, folder);
  await fs.promises.mkdir(target, { recursive: true, mode: 0o700 });
  const entries: SetAsideEntry[] = [];
  for (const { segment, start } of parts) {
    const kept = await unusedName(path.join(target, start === 0 ? segment.name : `${segment.name}.${start}.partial`));
    const hash = createHash('sha256');
    let bytes = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    if (start === 0) {
      await fs.promises.rename(segment.path, kept);
      await pipeline(fs.createReadStream(kept), measure, new Writable({ write: (_chunk, _encoding, done) => done() }));
    } else {
      // Streamed, not read whole: what someone else wrote may be any size.
      await pipeline(fs.createReadStream(segment.path, { start }), measure, fs.createWriteStream(kept, { mode: 0o600 }));
      await fs.promises.truncate(segment.path, start);
    }
    entries.push({ segment: segment.name, offset: start, bytes, sha256: hash.digest('hex'), keptAs: path.relative(dir, kept) });
  }
  return entries;
}

async function unusedName(file: string): Promise<string> {
  for (let i = 0; ; i++) {
    const candidate = i === 0 ? file : `${file}.${i}`;
    try {
      await fs.promises.access(candidate);
    } catch {
      return candidate;
    }
  }
}
