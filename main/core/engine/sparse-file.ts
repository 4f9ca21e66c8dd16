import type { Hash } from 'node:crypto';
import type fs from 'node:fs';
import { Writable } from 'node:stream';

/** Zero blocks are left as holes at this granularity (the usual filesystem block). */
const BLOCK = 4096;
const ZEROS = Buffer.alloc(BLOCK);

/**
 * A stream into an open file that writes only what is not zero: every all-zero block becomes a
 * hole (skipped, then the final ftruncate sets the length), so a sparse file an agent left in its
 * output takes on the host only the space its data takes. Every byte still goes into `hash`.
 */
export function sparseFileWriter(handle: fs.promises.FileHandle, hash: Hash): Writable {
  let position = 0;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      writeData(handle, chunk, position).then(() => done(), done);
      position += chunk.length;
    },
    final(done) {
      handle.truncate(position).then(() => done(), done);
    },
  });
}

/** Writes the runs of `chunk` (at file offset `at`) that are not whole zero blocks. */
async function writeData(handle: fs.promises.FileHandle, chunk: Buffer, at: number): Promise<void> {
  let runStart = -1;
  let offset = 0;
  while (offset < chunk.length) {
    // Pieces end on the file's block boundaries, so a hole is always whole blocks.
    const end = Math.min(chunk.length, offset + BLOCK - ((at + offset) % BLOCK));
    const zero = chunk.subarray(offset, end).equals(ZEROS.subarray(0, end - offset));
    if (zero && runStart >= 0) {
      await handle.write(chunk, runStart, offset - runStart, at + runStart);
      runStart = -1;
    } else if (!zero && runStart < 0) {
      runStart = offset;
    }
    offset = end;
  }
  if (runStart >= 0) await handle.write(chunk, runStart, chunk.length - runStart, at + runStart);
}
