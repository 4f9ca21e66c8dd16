/**
 * Headless Linux: no D-Bus session bus at all (a server, an SSH session). Real dbus-daemon and
 * gnome-keyring-daemon through the real CLI; the kernel keyring is checked through /proc/keys.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO, TEST_ENGINE_ENV, tempDir, childResult, type CliResult } from '../helpers/env.js';

const home = path.join(tempDir('airlock-kc-'), 'home');
const { DBUS_SESSION_BUS_ADDRESS: _bus, ...withoutBus } = process.env;
const env = { ...withoutBus, ...TEST_ENGINE_ENV, NO_COLOR: '1', AIRLOCK_HOME: home };

/** The built CLI with `input` on its standard input, in a session without a bus. */
function airlock(args: string[], input = ''): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(input);
  return childResult(child);
}

/** What the Secret Service on `address` holds for a credential, read by another process (as the engine does). */
function secretOnBus(address: string, name: string): string {
  const read = `const { Entry } = require('@napi-rs/keyring'); process.stdout.write(JSON.stringify(new Entry('airlock', 'credential:${name}', { linux: { store: 'secret-service' } }).getPassword()))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', read], { cwd: REPO, env: { ...withoutBus, DBUS_SESSION_BUS_ADDRESS: address }, encoding: 'utf8', timeout: 10_000 })) as string;
}

/** Files under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => fs.readFileSync(file).includes(needle));
}

const doctorKeychain = async () => (JSON.parse((await airlock(['doctor', '--json'])).stdout) as { keychain: { ok: boolean; store: string; persistent: boolean; fix?: string } }).keychain;
const status = async () => JSON.parse((await airlock(['keychain', 'status', '--json'])).stdout) as { running: boolean; unlocked: boolean; address?: string };

afterAll(async () => {
  await airlock(['keychain', 'stop']);
  await airlock(['engine', 'stop']);
});

describe('a Linux session without a D-Bus session bus', () => {
  const name = `headless-${process.pid}`;
  const secret = `kc-secret-${process.pid}-${Date.now()}`;
  const passphrase = `kc-passphrase-${process.pid}`;

  it('doctor says no store (not the kernel keyring) with the fix, and a credential is refused rather than kept in the kernel keyring', { timeout: 60_000 }, async () => {
    expect(await doctorKeychain()).toMatchObject({ ok: false, store: 'none', persistent: false, fix: expect.stringContaining('airlock keychain start') });
    const added = await airlock(['cred', 'add', name, '--host', 'api.vendor.test'], secret);
    expect(added.code).not.toBe(0);
    expect(added.stderr).toMatch(/^airlock: .*keychain/m);
    expect(added.stderr).not.toMatch(/\n\s+at /); // one line and a fix, no stack
    expect(fs.readFileSync('/proc/keys', 'utf8')).not.toContain(`credential:${name}@airlock`);
  });

  it('after `airlock keychain start`: doctor names Airlock\'s keyring, a credential survives stopping and restarting it (the reboot analogue), never in plaintext on disk', { timeout: 90_000 }, async () => {
    const started = await airlock(['keychain', 'start'], passphrase);
    expect(started.code, started.stderr).toBe(0);
    expect(await doctorKeychain()).toMatchObject({ ok: true, store: 'airlock-secret-service', persistent: true });
    const added = await airlock(['cred', 'add', name, '--host', 'api.vendor.test'], secret);
    expect(added.code, added.stderr).toBe(0);
    expect(secretOnBus((await status()).address!, name)).toBe(secret);

    expect((await airlock(['keychain', 'stop'])).code).toBe(0);
    expect(await status()).toMatchObject({ running: false });
    expect(await doctorKeychain()).toMatchObject({ ok: false, store: 'none' });

    const wrong = await airlock(['keychain', 'start'], 'not-the-passphrase');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/^airlock: that passphrase does not unlock Airlock's keyring\n\s+fix: /);
    expect(await status()).toMatchObject({ running: false });

    expect((await airlock(['keychain', 'start'], passphrase)).code).toBe(0);
    expect(await status()).toMatchObject({ running: true, unlocked: true });
    expect(secretOnBus((await status()).address!, name)).toBe(secret);
    expect(await doctorKeychain()).toMatchObject({ ok: true, store: 'airlock-secret-service' });

    // The keyring file and everything else Airlock keeps: neither the secret nor the passphrase in the clear.
    expect(filesContaining(home, secret)).toEqual([]);
    expect(filesContaining(home, passphrase)).toEqual([]);
    expect(fs.readdirSync(path.join(home, 'keychain', 'keyrings'))).toContain('login.keyring');
    expect(fs.statSync(path.join(home, 'keychain', 'session.json')).mode & 0o077).toBe(0);
    expect(fs.readFileSync('/proc/keys', 'utf8')).not.toContain(`credential:${name}@airlock`);
  });
});
