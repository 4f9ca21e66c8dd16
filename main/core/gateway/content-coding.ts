// Content-Encoding, so what the gateway scans is what the receiver will read: a compressed body is
// looked at decompressed. Only codings Node can decode are accepted where a body must be checked.
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

export type Coding = 'gzip' | 'deflate' | 'br' | 'zstd';

const DECODERS: Record<Coding, () => Transform> = {
  gzip: () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
  zstd: () => zlib.createZstdDecompress(),
};

/**
 * The codings of a Content-Encoding header, in the order they were applied (identity left out), or
 * the first one Airlock cannot decode.
 */
export function parseContentEncoding(header: string | string[] | undefined): { codings: Coding[] } | { unknown: string } {
  const codings: Coding[] = [];
  for (const raw of (Array.isArray(header) ? header.join(',') : header ?? '').split(',')) {
    const coding = raw.trim().toLowerCase();
    if (coding === '' || coding === 'identity') continue;
    const known = coding === 'x-gzip' ? 'gzip' : coding;
    if (!(known in DECODERS)) return { unknown: coding };
    codings.push(known as Coding);
  }
  return { codings };
}

/** Streams that undo the codings, last applied first. */
export function decoders(codings: readonly Coding[]): Transform[] {
  return [...codings].reverse().map((coding) => DECODERS[coding]());
}
