/**
 * session.json is a file on disk: edited to name another bus (the user's desktop session, a bus
 * someone else runs) or another process, it must neither route credentials there nor make
 * `airlock keychain stop` signal that process. Real dbus-daemon processes stand in for both.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeychainSession, keychainSessionPaths, useKeychainSession } from '../../main/core/credentials/keychain-session.js';
import { tempDir } from '../helpers/env.js';

const root = tempDir('airlock-kcrec-');
const home = path.join(root, 'home');
const paths = keychainSessionPaths(home);
const started: ChildProcess[] = [];

/** A session bus that is not Airlock's (the user's desktop bus, say), on a socket of its own. */
async function foreignBus(name: string): Promise<{ address: string; pid: number; answers: () => boolean }> {
  const bus = spawn('dbus-daemon', ['--config-file=/usr/share/dbus-1/session.conf', `--address=unix:path=${path.join(root, name)}`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(bus);
  const address = await new Promise<string>((resolve, reject) => {
    bus.once('error', reject);
    bus.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim().split('\n')[0]!));
  });
  // Still serving: a round trip through it after stop (a SIGTERM would have ended it first).
  const answers = (): boolean => {
    try {
      return execFileSync('dbus-send', [`--bus=${address}`, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Peer.Ping'], { timeout: 5_000, stdio: 'ignore' }) !== undefined;
    } catch {
      return false;
    }
  };
  return { address, pid: bus.pid!, answers };
}

function writeRecord(record: { address: string; busPid: number; keyringPid: number }): void {
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(paths.record, JSON.stringify({ ...record, startedAt: new Date().toISOString() }), { mode: 0o600 });
}

afterAll(() => {
  for (const child of started) child.kill('SIGTERM');
});

describe('a session.json that names what is not Airlock\'s own session', () => {
  it('another bus is not used for credentials, and stop does not signal it', async () => {
    const desktop = await foreignBus('desktop-bus');
    writeRecord({ address: desktop.address, busPid: desktop.pid, keyringPid: desktop.pid });
    const env: NodeJS.ProcessEnv = {};
    expect(useKeychainSession(home, env)).toBe(false);
    expect(env.DBUS_SESSION_BUS_ADDRESS).toBeUndefined();
    expect(new KeychainSession(home).status().running).toBe(false);
    new KeychainSession(home).stop();
    expect(desktop.answers()).toBe(true);
  });

  it('our socket with another process\'s pid: stop signals nobody', async () => {
    const other = await foreignBus('other-bus');
    writeRecord({ address: `unix:path=${paths.socket},guid=0123456789abcdef0123456789abcdef`, busPid: other.pid, keyringPid: other.pid });
    expect(new KeychainSession(home).status().running).toBe(false);
    new KeychainSession(home).stop();
    expect(other.answers()).toBe(true);
  });
});
