/**
 * Where the user's Airlock engine listens, and the checks that make it the user's alone: a Unix
 * socket (mode 0600, in a 0700 folder owned by the user) or, on Windows, a named pipe. No TCP port
 * and no token file: the file modes are the check, as for docker.sock (Node has no SO_PEERCRED).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AirlockError } from '../errors.js';

/** sun_path holds 108 bytes on Linux and 104 on macOS, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;

export interface EngineEndpoint {
  /** The socket (or named pipe) the engine listens on. */
  socket: string;
  /** The folder holding the socket: the user's alone (0700). Undefined for a named pipe. */
  folder: string | undefined;
  /** Held while an engine starts, so two starting at once end with one. */
  lock: string;
  /** The engine's own log (rotated). */
  log: string;
}

export interface EndpointPlatform {
  platform: NodeJS.Platform;
  uid: number;
  tmpdir: string;
  user: string;
}

function hostPlatform(): EndpointPlatform {
  return { platform: process.platform, uid: process.getuid?.() ?? -1, tmpdir: os.tmpdir(), user: safeUserName() };
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'user';
  }
}

/** The endpoint of the engine serving AIRLOCK_HOME `home`. */
export function engineEndpoint(home: string, env: NodeJS.ProcessEnv = process.env, host: EndpointPlatform = hostPlatform()): EngineEndpoint {
  const lock = path.join(home, 'engine.lock');
  const log = path.join(home, 'engine.log');
  const homeHash = createHash('sha256').update(path.resolve(home)).digest('hex').slice(0, 16);
  if (host.platform === 'win32') {
    // Untested here: a named pipe is per machine, so its name carries the user and the home.
    const user = host.user.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
    return { socket: `\\\\.\\pipe\\airlock-${user}-${homeHash}`, folder: undefined, lock, log };
  }
  const inHome = path.join(home, 'engine.sock');
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH_BYTES) return { socket: inHome, folder: home, lock, log };
  // A home too deep for sun_path: a per-user folder elsewhere, named after the home.
  const runtime = env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR) ? path.join(env.XDG_RUNTIME_DIR, 'airlock') : path.join(host.tmpdir, `airlock-${host.uid}`);
  return { socket: path.join(runtime, `${homeHash}.sock`), folder: runtime, lock, log };
}

/**
 * AIRLOCK_HOME, before an engine is started or starts there: it exists, is a folder (not a link)
 * of this user, and is 0700 (created so, or narrowed). The engine keeps its trail, state files,
 * lock and log there; a folder someone else made first (a shared /tmp path) is refused, whether or
 * not the socket goes there too (a deep home's socket lives in another folder).
 */
export function prepareHome(home: string, uid = process.getuid?.() ?? -1): void {
  if (process.platform === 'win32') {
    fs.mkdirSync(home, { recursive: true });
    return; // untested here: the folder's ACL is the user's profile's
  }
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  assertFolderOfUser(home, uid, 'set AIRLOCK_HOME to a folder of your own');
}

function assertFolderOfUser(folder: string, uid: number, hint: string): void {
  const stat = fs.lstatSync(folder);
  if (!stat.isDirectory() || stat.uid !== uid) {
    throw new AirlockError('engine_unavailable', `${folder} is not a folder of this user (uid ${uid}): the Airlock engine cannot keep its files there`, hint);
  }
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(folder, 0o700);
}

/** Opens the engine's log to append to, never through a link planted in its place. */
export function openEngineLog(file: string): number {
  return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0), 0o600);
}

/**
 * The engine's side: the socket's folder exists, is the user's and is 0700 (created so, or
 * narrowed when the user owns it). A folder of someone else is refused: never listen there.
 */
export function prepareSocketFolder(endpoint: EngineEndpoint, uid = process.getuid?.() ?? -1): void {
  if (!endpoint.folder) return;
  fs.mkdirSync(endpoint.folder, { recursive: true, mode: 0o700 });
  assertFolderOfUser(endpoint.folder, uid, 'remove it, or set AIRLOCK_HOME elsewhere');
}

/**
 * The client's side, before it says anything to an engine: the socket and its folder belong to
 * this user and nobody else may open or replace them. Someone else's engine must never receive
 * our commands or our credentials. Throws engine_unavailable with what is wrong; ENOENT passes
 * through (no engine yet).
 */
export function assertEndpointIsOurs(endpoint: EngineEndpoint, uid = process.getuid?.() ?? -1): void {
  if (!endpoint.folder) return; // a named pipe: its ACL is the check (Windows; untested here)
  for (const [file, what] of [[endpoint.folder, 'folder'], [endpoint.socket, 'socket']] as const) {
    const stat = fs.lstatSync(file);
    const problem = stat.uid !== uid
      ? `belongs to uid ${stat.uid}, not to this user (uid ${uid})`
      : (stat.mode & 0o077) !== 0
        ? `has mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}: others may open or replace it`
        : what === 'socket' && !stat.isSocket()
          ? 'is not a socket'
          : what === 'folder' && !stat.isDirectory()
            ? 'is not a folder'
            : undefined;
    if (problem) {
      throw new AirlockError('engine_unavailable', `refusing the Airlock engine's ${what} ${file}: it ${problem}`, `check who made it; remove it and run \`airlock engine start\`${what === 'folder' ? ' (the folder must be mode 0700)' : ''}`);
    }
  }
}
