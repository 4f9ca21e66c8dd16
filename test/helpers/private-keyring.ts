import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './env.js';

/**
 * A Secret Service of the test's own: a D-Bus session bus and an unlocked gnome-keyring-daemon
 * whose keyring files live under `root`. A test can lose this keychain (stop it and delete its
 * files: a reboot with the kernel keyring, a new machine) without touching the session's keychain
 * that other test files use. Pass `env` to the processes that should use it.
 */
export interface PrivateKeyring {
  env: { DBUS_SESSION_BUS_ADDRESS: string };
  /** Stops the daemon and the bus; `forget` also deletes the keyring's files. */
  stop(options?: { forget?: boolean }): Promise<void>;
}

export async function startPrivateKeyring(root: string): Promise<PrivateKeyring> {
  const data = path.join(root, 'data');
  const socket = path.join(root, 'bus');
  fs.mkdirSync(data, { recursive: true, mode: 0o700 });
  fs.rmSync(socket, { force: true });
  const bus = spawn('dbus-daemon', ['--config-file=/usr/share/dbus-1/session.conf', `--address=unix:path=${socket}`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const address = await new Promise<string>((resolve, reject) => {
    bus.once('error', reject);
    bus.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim().split('\n')[0]!));
  });
  const env = { DBUS_SESSION_BUS_ADDRESS: address };
  const daemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets', `--control-directory=${path.join(root, 'control')}`], {
    env: { ...process.env, ...env, XDG_DATA_HOME: data },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  daemon.stdin!.end('x'); // the keyring's password: it is created unlocked with it
  await waitFor(async () => ((await owned(address)) ? true : undefined), 'the private Secret Service on its bus', 10_000);
  return {
    env,
    async stop(options = {}) {
      await Promise.all([ended(daemon), ended(bus)]);
      if (options.forget) fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

async function owned(address: string): Promise<boolean> {
  try {
    const { stdout } = await promisify(execFile)('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'], { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address } });
    return stdout.includes('boolean true');
  } catch {
    return false;
  }
}

function ended(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
