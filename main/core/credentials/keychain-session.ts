/**
 * Airlock's own Secret Service for Linux sessions without one (servers, SSH, CI, WSL), like
 * ssh-agent: `airlock keychain start` runs a private D-Bus session bus and gnome-keyring-daemon for
 * this user, unlocked with a passphrase typed once per boot. The keyring file
 * (AIRLOCK_HOME/keychain/keyrings) is encrypted with that passphrase, so it survives a reboot; the
 * daemons do not, and after one the next `start` unlocks the same keyring again. The bus address
 * is kept in AIRLOCK_HOME/keychain/session.json (0600) for the CLI and the engine.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';

export interface KeychainSessionRecord {
  address: string;
  busPid: number;
  keyringPid: number;
  startedAt: string;
}

export interface KeychainSessionStatus {
  running: boolean;
  /** The keyring is unlocked (false: running but locked, or not running). */
  unlocked: boolean;
  /** Where the encrypted keyring file lives. */
  keyringDir: string;
  address?: string;
  pids?: { bus: number; keyring: number };
  startedAt?: string;
}

/** A program run to its end: stdout, or a throw. Injected so the core never spawns behind a test's back. */
export type RunProgram = (program: string, args: string[], opts: { input?: string; env: NodeJS.ProcessEnv; timeoutMs: number }) => string;

const runProgram: RunProgram = (program, args, opts) => execFileSync(program, args, { input: opts.input ?? '', env: opts.env, timeout: opts.timeoutMs, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

/** A unix socket path longer than this does not fit sockaddr_un on every OS. */
const MAX_SOCKET_PATH = 100;
const SECRETS = 'org.freedesktop.secrets';

export function keychainSessionPaths(home: string) {
  const dir = path.join(home, 'keychain');
  return { dir, keyrings: path.join(dir, 'keyrings'), record: path.join(dir, 'session.json'), socket: path.join(dir, 'bus'), config: path.join(dir, 'bus.conf'), control: path.join(dir, 'control') };
}

/**
 * Called before the first keychain call of a process: with no DBUS_SESSION_BUS_ADDRESS, the
 * address of Airlock's running session (if any) is put into `env` (libdbus reads it from the
 * process's environment). True when Airlock's session is the one in use.
 */
export function useKeychainSession(home: string, env: NodeJS.ProcessEnv): boolean {
  if (env.DBUS_SESSION_BUS_ADDRESS) return false;
  const record = liveRecord(home);
  if (!record) return false;
  env.DBUS_SESSION_BUS_ADDRESS = record.address;
  return true;
}

export class KeychainSession {
  readonly #home: string;
  readonly #run: RunProgram;
  readonly #env: NodeJS.ProcessEnv;

  constructor(home: string, deps: { run?: RunProgram; env?: NodeJS.ProcessEnv } = {}) {
    this.#home = home;
    this.#run = deps.run ?? runProgram;
    this.#env = deps.env ?? process.env;
  }

  status(): KeychainSessionStatus {
    const paths = keychainSessionPaths(this.#home);
    const record = liveRecord(this.#home);
    if (!record) return { running: false, unlocked: false, keyringDir: paths.keyrings };
    return {
      running: true, unlocked: this.#unlocked(record.address), keyringDir: paths.keyrings, address: record.address,
      pids: { bus: record.busPid, keyring: record.keyringPid }, startedAt: record.startedAt,
    };
  }

  /** Starts the bus and the keyring daemon, unlocked with `passphrase` (a new keyring is made with it); refuses a wrong one. */
  start(passphrase: string): KeychainSessionStatus & { alreadyRunning: boolean } {
    const running = this.status();
    if (running.running && running.unlocked) return { ...running, alreadyRunning: true };
    if (running.running) this.stop();
    if (!passphrase) throw new AirlockError('bad_argument', 'an empty passphrase would leave the keyring unencrypted', 'type a passphrase (it encrypts AIRLOCK_HOME/keychain/keyrings)');
    const paths = keychainSessionPaths(this.#home);
    if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH) throw new AirlockError('bad_argument', `the keychain's bus socket path is too long: ${paths.socket}`, 'use a shorter AIRLOCK_HOME');
    fs.mkdirSync(paths.keyrings, { recursive: true, mode: 0o700 });
    fs.chmodSync(paths.dir, 0o700);
    fs.rmSync(paths.socket, { force: true });
    // Our own configuration: no service activation, so nothing but our daemon can claim the Secret Service name.
    fs.writeFileSync(paths.config, busConfig(paths.socket), { mode: 0o600 });
    const env = { PATH: this.#env.PATH ?? '/usr/bin:/bin', HOME: this.#env.HOME ?? this.#home, XDG_DATA_HOME: paths.dir, LANG: 'C' };
    const bus = this.#program('dbus-daemon', ['--config-file', paths.config, '--fork', '--print-address=1', '--print-pid=1'], { env });
    const [address, busPidText] = bus.trim().split('\n');
    const busPid = Number(busPidText);
    if (!address?.startsWith('unix:') || !Number.isInteger(busPid)) throw new AirlockError('keychain_unavailable', `dbus-daemon did not say where it listens: ${bus.trim().slice(0, 200)}`, 'check the dbus package: `apt-get install dbus`');
    try {
      this.#program('gnome-keyring-daemon', ['--daemonize', '--unlock', '--components=secrets', `--control-directory=${paths.control}`], { env: { ...env, DBUS_SESSION_BUS_ADDRESS: address }, input: passphrase });
      const keyringPid = this.#waitForSecretService(address);
      const record: KeychainSessionRecord = { address, busPid, keyringPid, startedAt: new Date().toISOString() };
      fs.writeFileSync(paths.record, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      if (!this.#unlocked(address)) {
        this.stop();
        throw new AirlockError('keychain_unavailable', 'that passphrase does not unlock Airlock\'s keyring', `type the passphrase of the first \`airlock keychain start\`; forgotten, remove ${paths.keyrings} (its secrets are lost) and start again`);
      }
      return { ...this.status(), alreadyRunning: false };
    } catch (error) {
      killIf(busPid, 'dbus-daemon', paths.config);
      fs.rmSync(paths.record, { force: true });
      throw error;
    }
  }

  /** Stops the daemons (the keyring file stays, encrypted); false when none ran. */
  stop(): boolean {
    const paths = keychainSessionPaths(this.#home);
    const record = readRecord(this.#home);
    fs.rmSync(paths.record, { force: true });
    if (!record) return false;
    const keyring = killIf(record.keyringPid, 'gnome-keyring-daemon', `--control-directory=${paths.control}`);
    const bus = killIf(record.busPid, 'dbus-daemon', paths.config);
    fs.rmSync(paths.socket, { force: true });
    return keyring || bus;
  }

  #program(program: string, args: string[], opts: { env: NodeJS.ProcessEnv; input?: string }): string {
    try {
      return this.#run(program, args, { ...opts, timeoutMs: 10_000 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new AirlockError('keychain_unavailable', `${program} is not installed`, 'install it: `apt-get install dbus gnome-keyring`');
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n')[0];
      throw new AirlockError('keychain_unavailable', `${program} failed: ${stderr || (error as Error).message.split('\n')[0]}`, 'see `airlock keychain status`; `apt-get install dbus gnome-keyring`');
    }
  }

  /** gnome-keyring-daemon --daemonize returns before it owns its name: wait (bounded) for it; its pid. */
  #waitForSecretService(address: string): number {
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        const reply = this.#dbus(address, 'org.freedesktop.DBus', '/', 'org.freedesktop.DBus.GetConnectionUnixProcessID', `string:${SECRETS}`);
        const pid = Number(/uint32 (\d+)/.exec(reply)?.[1]);
        if (Number.isInteger(pid) && pid > 0) return pid;
      } catch {
        // not on the bus yet
      }
      if (Date.now() > deadline) throw new AirlockError('keychain_unavailable', 'gnome-keyring-daemon did not offer the Secret Service within 5 s', 'see `airlock keychain status`; `apt-get install gnome-keyring`');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // a synchronous pause: the caller is a one-shot CLI command
    }
  }

  #unlocked(address: string): boolean {
    try {
      const reply = this.#dbus(address, SECRETS, '/org/freedesktop/secrets/aliases/default', 'org.freedesktop.DBus.Properties.Get', 'string:org.freedesktop.Secret.Collection', 'string:Locked');
      return /boolean false/.test(reply);
    } catch {
      return false;
    }
  }

  #dbus(address: string, dest: string, object: string, method: string, ...args: string[]): string {
    return this.#run('dbus-send', [`--bus=${address}`, '--print-reply', '--reply-timeout=2000', `--dest=${dest}`, object, method, ...args], { env: { PATH: this.#env.PATH ?? '/usr/bin:/bin' }, timeoutMs: 5_000 });
  }
}

function busConfig(socket: string): string {
  const escaped = socket.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${escaped}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

/**
 * session.json, when it names this home's own session: the bus on our socket, the pids checked
 * against our daemons' command lines later. A record edited to name another bus (one whose Secret
 * Service would receive every credential) or another process is not ours: ignored.
 */
function readRecord(home: string): KeychainSessionRecord | undefined {
  const paths = keychainSessionPaths(home);
  try {
    const value = JSON.parse(fs.readFileSync(paths.record, 'utf8')) as Partial<KeychainSessionRecord>;
    if (typeof value.address !== 'string' || !Number.isInteger(value.busPid) || !Number.isInteger(value.keyringPid)) return undefined;
    const ours = `unix:path=${dbusEscape(paths.socket)}`;
    if (value.address !== ours && !value.address.startsWith(`${ours},`)) return undefined;
    return value as KeychainSessionRecord;
  } catch {
    return undefined;
  }
}

/** A D-Bus address value as dbus-daemon prints it: bytes outside [-0-9A-Za-z_/.\\*] as %xx. */
function dbusEscape(value: string): string {
  return [...Buffer.from(value)].map((byte) => (/[-0-9A-Za-z_/.\\*]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`)).join('');
}

/** The record of a session whose bus still runs (a reboot, or a kill, leaves a stale one: ignored). */
function liveRecord(home: string): KeychainSessionRecord | undefined {
  const record = readRecord(home);
  return record && isOurs(record.busPid, 'dbus-daemon', keychainSessionPaths(home).config) ? record : undefined;
}

/**
 * Whether `pid` is `program` started by this home's session (its command line names our own file):
 * a recycled pid, or the user's desktop bus named in an edited record, is never signalled.
 */
function isOurs(pid: number, program: string, marker: string): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(argv[0] ?? '') === program && argv.includes(marker);
  } catch {
    return false;
  }
}

function killIf(pid: number, program: string, marker: string): boolean {
  if (!isOurs(pid, program, marker)) return false;
  process.kill(pid, 'SIGTERM');
  return true;
}
