/**
 * Which build of Airlock this is: the package version and a digest of the CLI bundle, written
 * beside the bundle by scripts/build-cli.mjs (out/cli/build.json). A client and an engine of
 * different builds tell each other in hello. Sources run without a bundle (tests, the app in
 * development) are `dev`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILD_FILE = 'build.json';

/** The build id written in `dir`/build.json, or `dev` when there is none. */
export function readBuild(dir: string): string {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, BUILD_FILE), 'utf8')) as { version?: unknown; digest?: unknown };
    if (typeof parsed.version === 'string' && typeof parsed.digest === 'string') return `${parsed.version}+${parsed.digest.slice(0, 12)}`;
  } catch {
    // no build.json: running from sources
  }
  return 'dev';
}

let cached: string | undefined;

/** This program's build id (beside the bundle this module is part of). */
export function currentBuild(): string {
  return (cached ??= readBuild(path.dirname(fileURLToPath(import.meta.url))));
}
