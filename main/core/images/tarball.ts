// Reading the tarballs an image build fetches (Node.js, npm): entry by entry, streamed, into
// folders made one level at a time with fixed modes (whatever the umask).
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { AirlockError } from '../errors.js';

/** One entry of a tarball as tar-stream reads it: its header and its bytes. */
export type TarEntry = tar.ExtractEvents['entry'][1];

/**
 * Streams a .tgz's entries to `onEntry`, which reads the entry (returns true) or not (false: it is
 * skipped). Any failure, the tarball's or `onEntry`'s, is one image_build_failed naming the file.
 */
export async function eachTarEntry(tgz: string, onEntry: (entry: TarEntry) => Promise<boolean>): Promise<void> {
  const extract = tar.extract();
  const consume = async (): Promise<void> => {
    try {
      for await (const entry of extract) {
        if (!(await onEntry(entry))) entry.resume();
      }
    } catch (err) {
      extract.destroy(err as Error);
      throw err;
    }
  };
  try {
    await Promise.all([pipeline(fs.createReadStream(tgz), createGunzip(), extract), consume()]);
  } catch (err) {
    throw new AirlockError('image_build_failed', `Could not unpack ${path.basename(tgz)}: ${(err as Error).message}`, `Delete ${tgz} and build again to download it anew.`, { cause: err });
  }
}

/** mkdir -p of `rel` below `root`, every created directory 0755 (they end up in the image). */
export async function makeDirs(root: string, rel: string): Promise<void> {
  let dir = root;
  for (const part of rel.split('/').filter((p) => p !== '' && p !== '.')) {
    dir = path.join(dir, part);
    try {
      await fs.promises.mkdir(dir, { mode: 0o755 });
      await fs.promises.chmod(dir, 0o755);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
