// The offline build: mmdebstrap makes the agent-base (or agent-desktop) root filesystem from the
// machine's own apt sources (no container registry needed), as a tarball that images.ts imports
// into Docker. The package list, dpkg excludes, user setup and image config all come from the files
// beside the Dockerfiles, so the online and offline images are the same.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { LineSplitter, parseMmdebstrapLine, type ImageProgress } from './image-progress.js';

/** Files of assets/images/agent-base the offline build reads. */
export interface BaseImageContext {
  dir: string;
  dockerfile: string;
  packages: string;
  dpkgConfig: string;
  setupScript: string;
  /** The pinned Node.js version (image-node.ts). */
  nodeVersion: string;
  /** The pinned npm version (image-npm.ts). */
  npmVersion: string;
}

export function baseImageContext(dir: string): BaseImageContext {
  return {
    dir,
    dockerfile: path.join(dir, 'Dockerfile'),
    packages: path.join(dir, 'packages.txt'),
    dpkgConfig: path.join(dir, 'dpkg-nodoc.cfg'),
    setupScript: path.join(dir, 'setup.sh'),
    nodeVersion: path.join(dir, 'node-version.txt'),
    npmVersion: path.join(dir, 'npm-version.txt'),
  };
}

/** Files of assets/images/agent-desktop: what the desktop image adds to the base. */
export interface DesktopImageContext {
  dir: string;
  dockerfile: string;
  packages: string;
  /** The launcher, installed as `target` (mode 0755) by both builds. */
  launcher: { source: string; target: string };
  /** Chromium's managed policy (mode 0644), installed by both builds. */
  browserPolicy: { source: string; target: string };
}

export function desktopImageContext(dir: string): DesktopImageContext {
  return {
    dir,
    dockerfile: path.join(dir, 'Dockerfile'),
    packages: path.join(dir, 'packages.txt'),
    launcher: { source: path.join(dir, 'airlock-desktop'), target: '/usr/local/bin/airlock-desktop' },
    browserPolicy: { source: path.join(dir, 'chromium-policy.json'), target: '/etc/chromium/policies/managed/airlock.json' },
  };
}

/** Package names from packages.txt: one a line, `#` starts a comment. */
export function parsePackageList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

/** The package lists of an image and the layers on top of it, as one list: in order, each name once. */
export function mergePackageLists(...lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

// Instructions the engine's image import accepts as `changes` (the ones that only set config).
const CONFIG_INSTRUCTIONS = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'VOLUME', 'WORKDIR']);

/**
 * The config instructions of the Dockerfile (ENV, LABEL, WORKDIR, USER, CMD…), continuation lines
 * joined, in order: passed as `changes` to the image import so the offline image gets exactly the
 * online image's config. Of the USER lines only the last, the one the image ends with, is kept
 * (a `USER root` for the RUN steps is no config); it must be non-root. `image` names the folder
 * under assets/images, for the error.
 */
export function configFromDockerfile(text: string, image = 'agent-base'): string[] {
  const instructions = joinContinuations(text);
  return lastUserOnly(instructions.filter((line) => CONFIG_INSTRUCTIONS.has(line.split(/\s/, 1)[0]!.toUpperCase())), image);
}

/**
 * The config of an image built FROM another: the base's changes, then the layer's (a later ENV or
 * LABEL of the same name wins, as in `docker build`), with the layer's final USER the only one.
 */
export function mergeImageConfig(base: string[], layer: string[], image = 'agent-desktop'): string[] {
  return lastUserOnly([...base, ...layer], image);
}

function isUser(line: string): boolean {
  return /^USER\s/i.test(line);
}

function lastUserOnly(changes: string[], image: string): string[] {
  const last = changes.findLastIndex(isUser);
  if (last < 0 || !/^USER\s+[1-9]/i.test(changes[last]!)) {
    // Refuse to produce an image that would default to root.
    throw new AirlockError('image_build_failed', `The ${image} Dockerfile does not end with a non-root USER instruction.`, `End assets/images/${image}/Dockerfile with \`USER 10001:10001\`.`);
  }
  return changes.filter((line, i) => !isUser(line) || i === last);
}

/** The Debian suite of `FROM debian:<suite>[-slim]`, which the offline build bootstraps. */
export function suiteFromDockerfile(text: string): string {
  const from = joinContinuations(text).find((line) => /^FROM\s/i.test(line));
  const m = from && /^FROM\s+(?:docker\.io\/)?(?:library\/)?debian:([a-z]+)(?:-slim)?(?:\s|$)/i.exec(from);
  if (!m) {
    throw new AirlockError('image_build_failed', `The agent-base Dockerfile must start FROM debian:<suite>-slim for offline builds (found: ${from ?? 'no FROM line'}).`);
  }
  return m[1]!;
}

function joinContinuations(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1).trim()} `;
      continue;
    }
    out.push((current + line).trim());
    current = '';
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

/** Quotes a string for /bin/sh. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A host file the offline build copies into the root filesystem (owned by root), before setup.sh runs. */
export interface RootfsFile {
  source: string;
  /** Absolute path inside the image. */
  target: string;
  mode: number;
}

/** A host folder the offline build copies into the root filesystem (as the Dockerfile's `COPY dir/ target/`), modes kept, owned by root. */
export interface RootfsTree {
  source: string;
  /** Absolute folder inside the image. */
  target: string;
}

function imagePath(target: string): string {
  if (!target.startsWith('/') || target.split('/').includes('..')) throw new Error(`not an absolute path in the image: ${target}`);
  return target;
}

/** The mmdebstrap command line; no mirror is named, so mmdebstrap uses its Debian default. */
export function mmdebstrapArgs(opts: { suite: string; packages: string[]; dpkgConfig: string; setupScript: string; target: string; files?: RootfsFile[]; trees?: RootfsTree[] }): string[] {
  // One command per folder, not per file: npm alone is ~2,000 files, and the hook is one argument.
  const trees = (opts.trees ?? []).map((t) => `mkdir -p "$1"${shellQuote(imagePath(t.target))} && cp -R --preserve=mode ${shellQuote(`${t.source}/.`)} "$1"${shellQuote(t.target)} && `);
  const copies = (opts.files ?? []).map((f) => `install -D -m ${(f.mode & 0o7777).toString(8).padStart(4, '0')} ${shellQuote(f.source)} "$1"${shellQuote(imagePath(f.target))} && `);
  return [
    '--variant=apt',
    '--format=tar',
    `--include=${opts.packages.join(',')}`,
    // An existing file given as --dpkgopt is appended verbatim to dpkg's config in the chroot.
    `--dpkgopt=${opts.dpkgConfig}`,
    '--aptopt=Acquire::Languages "none"',
    // One hook (one progress line): the extra files (Node.js into /usr/local, as the Dockerfile's
    // COPY does), the shared user/workspace setup, then blank the build host's resolver and name,
    // which must not end up in the image (the engine mounts its own).
    `--customize-hook=${trees.join('')}${copies.join('')}chroot "$1" /bin/sh -s < ${shellQuote(opts.setupScript)} && : > "$1/etc/resolv.conf" && : > "$1/etc/hostname"`,
    opts.suite,
    opts.target,
  ];
}

/** Absolute path of `command` on PATH, or undefined. */
export function findOnPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Can this machine build the base image from its own Debian packages (the fallback when no registry answers)? */
export function canBuildOffline(): boolean {
  try {
    assertOfflineBuildPossible();
    return true;
  } catch {
    return false;
  }
}

export function assertOfflineBuildPossible(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform !== 'linux') {
    throw new AirlockError('image_build_failed', `Offline image builds need Linux with mmdebstrap (this is ${platform}).`, 'Run `airlock image build` without --offline, with a registry reachable.');
  }
  const found = findOnPath('mmdebstrap', env);
  if (!found) {
    throw new AirlockError('image_build_failed', 'Offline image builds need mmdebstrap, which is not on PATH: install it with `apt-get install mmdebstrap`.', 'apt-get install mmdebstrap');
  }
  return found;
}

/**
 * Runs mmdebstrap into `target` (a .tar inside `scratchDir`), reporting progress. mmdebstrap's own
 * temp dir goes inside `scratchDir` too. On abort mmdebstrap gets SIGTERM, which it handles by
 * unmounting and removing its chroot; the promise settles only once it has exited.
 */
export async function runMmdebstrap(opts: {
  executable: string;
  args: string[];
  scratchDir: string;
  onProgress: (p: ImageProgress) => void;
  signal?: AbortSignal | undefined;
}): Promise<void> {
  opts.signal?.throwIfAborted();
  const child = spawn(opts.executable, opts.args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TMPDIR: opts.scratchDir, LC_ALL: 'C.UTF-8' },
  });
  const tail: string[] = [];
  const lines = new LineSplitter();
  let last: ImageProgress | undefined;
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    const progress = parseMmdebstrapLine(line, last);
    if (!progress) return;
    last = progress;
    opts.onProgress(progress);
  };
  child.stderr.on('data', (chunk: Buffer) => lines.push(chunk).forEach(onLine));

  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    opts.onProgress({ phase: last?.phase ?? 'resolve', message: 'cancelling: waiting for mmdebstrap to unmount and clean up' });
    child.kill('SIGTERM');
    // mmdebstrap finishes its current step before cleaning up; don't wait forever.
    killTimer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => resolve(exitCode));
    });
    lines.flush().forEach(onLine);
    opts.signal?.throwIfAborted();
    if (code !== 0) {
      const errors = tail.filter((l) => l.startsWith('E:'));
      const detail = (errors.length ? errors : tail.slice(-8)).join('\n');
      throw new AirlockError('image_build_failed', `mmdebstrap failed (exit ${code}):\n${detail}`, 'Check that `apt-get update` works on this machine (the offline build uses its Debian apt mirrors).');
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
}

/** Mount points at or below `dir` (a killed mmdebstrap can leave /proc, /sys, /dev mounted). */
export function mountsBelow(dir: string, mountinfo: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => !!mountPoint && (mountPoint === dir || mountPoint.startsWith(prefix)));
}

/**
 * Removes the scratch dir, unless something is still mounted inside it: a recursive delete would
 * then reach into the host's /dev or /sys. Returns a warning to show instead in that case.
 */
export async function removeScratchDir(dir: string): Promise<string | undefined> {
  let mountinfo = '';
  try {
    mountinfo = await fs.promises.readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    // not Linux: nothing mmdebstrap could have mounted
  }
  const mounted = mountsBelow(dir, mountinfo);
  if (mounted.length > 0) {
    return `left ${dir} in place: still mounted inside it: ${mounted.join(', ')}; unmount (umount -R) and remove it by hand`;
  }
  await fs.promises.rm(dir, { recursive: true, force: true });
  return undefined;
}
