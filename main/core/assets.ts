import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where Airlock's assets/ folder is: beside the built CLI (out/cli), the app's main bundle
 * (out/main) and the sources (main/core). Every task needs it: its sidecar's program lives there.
 */
export function findAssetsDir(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'assets');
    if (fs.existsSync(path.join(candidate, 'sidecar', 'sidecar.cjs'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find Airlock\'s assets folder next to its program');
}
