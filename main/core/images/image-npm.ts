// npm and npx in airlock/agent-base. The node-linux-* packages carry the node binary only, so npm
// comes as its own package: the version pinned in npm-version.txt (beside the Dockerfile), fetched
// with the machine's own npm (`npm pack npm@<version>`, cached and checked by sha512 as the Node.js
// tarball is: image-node.ts), and unpacked into the same /usr/local tree both builds install, as
// lib/node_modules/npm — where the official Node.js builds put it. setup.sh makes the
// /usr/local/bin/npm and npx links and runs `npm --version` inside the image.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AirlockError } from '../errors.js';
import { pinnedTarball } from './image-node.js';
import { eachTarEntry, makeDirs } from './tarball.js';
import type { ImageProgress } from './image-progress.js';

export const NPM_VERSION_FILE = 'npm-version.txt';
/** Where npm goes below /usr/local (the official Node.js builds' place for it). */
export const NPM_DIST_DIR = 'lib/node_modules/npm';
/** npm's tarball holds ~2,000 entries and ~12 MB; far more than that is not npm. */
const MAX_ENTRIES = 20_000;
const MAX_BYTES = 200 * 1024 * 1024;

export interface NpmPin {
  version: string;
  integrity: string | undefined;
}

/** Parses npm-version.txt: `#` comments, one exact version, and an optional `npm sha512-…` line. */
export function parseNpmVersionFile(text: string): NpmPin {
  let version: string | undefined;
  let integrity: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `${NPM_VERSION_FILE} line ${index + 1}`;
    const pin = /^npm\s+(\S+)$/.exec(line);
    if (pin) {
      if (!/^sha512-[A-Za-z0-9+/]{86}==$/.test(pin[1]!)) throw npmPinError(`${where}: the integrity must be sha512-<base64> as \`npm view npm@<version> dist.integrity\` prints it`);
      if (integrity !== undefined) throw npmPinError(`${where}: a second integrity line`);
      integrity = pin[1];
      return;
    }
    if (!/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.test(line)) throw npmPinError(`${where}: expected an exact version such as 11.6.2 or "npm sha512-…", found "${line}"`);
    if (version !== undefined) throw npmPinError(`${where}: a second version (${line}; ${version} came first)`);
    version = line;
  });
  if (version === undefined) throw npmPinError(`${NPM_VERSION_FILE} names no npm version`);
  return { version, integrity };
}

function npmPinError(message: string): AirlockError {
  return new AirlockError('image_build_failed', message, `Fix assets/images/agent-base/${NPM_VERSION_FILE} (its comments say what goes in it).`);
}

/**
 * Where an entry of npm's tarball goes below `lib/node_modules/npm`, or undefined when it is not
 * installed: regular files and folders under `package/` only, never a link, an absolute path or `..`.
 */
export function npmDistTarget(entryName: string, type: string | null | undefined): string | undefined {
  if (type !== 'file' && type !== 'contiguous-file' && type !== 'directory') return undefined;
  const name = entryName.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (!name.startsWith('package/')) return undefined;
  const rel = name.slice('package/'.length);
  const parts = rel.split('/');
  if (rel === '' || parts.some((p) => p === '' || p === '.' || p === '..') || rel.includes('\\') || rel.includes('\0')) return undefined;
  return rel;
}

/**
 * Unpacks npm's tarball into `destDir/lib/node_modules/npm` (files 0644, or 0755 when the tarball
 * marks them executable; folders 0755). Returns how many files it wrote; fails without `bin/npm-cli.js`.
 */
export async function extractNpmDist(tgz: string, destDir: string): Promise<number> {
  const root = path.join(destDir, NPM_DIST_DIR);
  await makeDirs(destDir, NPM_DIST_DIR);
  let files = 0;
  let entries = 0;
  let bytes = 0;
  await eachTarEntry(tgz, async (entry) => {
    const rel = npmDistTarget(entry.header.name, entry.header.type);
    entries += 1;
    bytes += entry.header.size ?? 0;
    if (entries > MAX_ENTRIES || bytes > MAX_BYTES) throw new Error(`more than ${MAX_ENTRIES} entries or ${MAX_BYTES / 1024 / 1024} MB: not the npm package`);
    if (rel === undefined) return false;
    if (entry.header.type === 'directory') {
      await makeDirs(root, rel);
      return false;
    }
    await makeDirs(root, path.posix.dirname(rel));
    const mode = (entry.header.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
    const file = path.join(root, rel);
    // `wx`: a second entry of the same name is refused, never followed through a link.
    await pipeline(entry, fs.createWriteStream(file, { mode, flags: 'wx' }));
    await fs.promises.chmod(file, mode);
    files += 1;
    return true;
  });
  if (!fs.existsSync(path.join(root, 'bin', 'npm-cli.js')) || !fs.existsSync(path.join(root, 'bin', 'npx-cli.js'))) {
    throw new AirlockError('image_build_failed', `${path.basename(tgz)} has no package/bin/npm-cli.js and npx-cli.js.`, `Delete ${tgz} and build again; check that the registry npm uses serves the official npm package.`);
  }
  return files;
}

/** Reads the pin, gets npm's tarball (cache or `npm pack`) and unpacks it into the /usr/local tree `destDir`. */
export async function prepareNpmDist(opts: {
  versionFile: string;
  cacheDir: string;
  destDir: string;
  onProgress: (p: ImageProgress) => void;
  signal?: AbortSignal | undefined;
  npm?: string;
}): Promise<{ version: string; files: number }> {
  const pin = parseNpmVersionFile(await fs.promises.readFile(opts.versionFile, 'utf8'));
  const tgz = await pinnedTarball({
    name: 'npm', version: pin.version, integrity: pin.integrity, label: `npm ${pin.version}`, pinFile: NPM_VERSION_FILE,
    cacheDir: opts.cacheDir, onProgress: opts.onProgress, signal: opts.signal, ...(opts.npm ? { npm: opts.npm } : {}),
  });
  opts.signal?.throwIfAborted();
  const files = await extractNpmDist(tgz, opts.destDir);
  opts.onProgress({ phase: 'download', message: `npm ${pin.version} unpacked (${files} files)`, percent: 0 });
  return { version: pin.version, files };
}
