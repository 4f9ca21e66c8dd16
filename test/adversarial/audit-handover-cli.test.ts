/**
 * The real CLI and a real keychain (gnome-keyring on a D-Bus session bus of this test's own, so
 * losing it touches no other test's keys): a task runs, the keychain is lost (stopped and its files
 * deleted, as a reboot with the kernel keyring or a new machine loses them), and `airlock audit
 * verify` hands the trail over to a new key and names the change — record, time, both keys'
 * fingerprints — instead of failing for good. Then someone who can write the files, but holds no
 * key of this machine, rewrites the log with a hand-over of their own: verify fails (exit 1).
 * On the code before: after the lost keychain, verify said NOT INTACT and the next write set the
 * whole trail aside as tampered.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../main/core/audit/handover.js';
import { PUBLIC_KEY_FILE } from '../../main/core/audit/head.js';
import { forgedHandedOverTrail } from '../helpers/audit.js';
import { approve, runCli, tempDir } from '../helpers/env.js';
import { startPrivateKeyring, type PrivateKeyring } from '../helpers/private-keyring.js';

interface Verified {
  ok: boolean;
  records: number;
  key: string;
  keyChanges: { record: number; time: string; from: string; to: string; reason: string }[];
  problem?: { record: number; message: string };
}

let keyring: PrivateKeyring | undefined;
afterAll(async () => {
  await keyring?.stop();
});

describe('a lost keychain, through the CLI', () => {
  it('`audit verify` hands over to a new key and names the change; a rewritten log with a forged hand-over fails it', { timeout: 120_000 }, async () => {
    const dir = tempDir('airlock-handover-cli-');
    const home = path.join(dir, 'home');
    const audit = path.join(home, 'audit');
    keyring = await startPrivateKeyring(path.join(dir, 'keyring'));
    const env = () => ({ AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess', ...keyring!.env });
    const verify = async (...flags: string[]) => runCli(['audit', 'verify', ...flags], { env: env() });
    const manifest = path.join(dir, 'tiny.yaml');
    fs.writeFileSync(manifest, 'name: tiny\ncommand: ["sh", "-c", "echo reviewing; echo done"]\n');
    approve(manifest, home);
    expect((await runCli(['run', manifest, '--json'], { env: env() })).code).toBe(0);
    const before = JSON.parse((await verify('--json')).stdout) as Verified;
    expect(before).toMatchObject({ ok: true, keyChanges: [] });
    expect(fingerprint(fs.readFileSync(path.join(audit, PUBLIC_KEY_FILE), 'utf8'))).toBe(before.key);

    // Not a loss: the keyring locked (or its daemon gone) only for now. No new key, no hand-over, nothing written.
    const keyFile = fs.readFileSync(path.join(audit, PUBLIC_KEY_FILE), 'utf8');
    const head = fs.readFileSync(path.join(audit, 'head.json'), 'utf8');
    await lockKeyring(keyring.env.DBUS_SESSION_BUS_ADDRESS);
    const locked = await verify('--json');
    expect(locked.code).not.toBe(0);
    expect(locked.stderr).toMatch(/the OS keychain is not available/);
    expect(fs.readFileSync(path.join(audit, PUBLIC_KEY_FILE), 'utf8')).toBe(keyFile);
    expect(fs.readFileSync(path.join(audit, 'head.json'), 'utf8')).toBe(head);

    // The reboot: the keychain comes back empty (no signing key, no record of the trail's end).
    await keyring.stop({ forget: true });
    keyring = await startPrivateKeyring(path.join(dir, 'keyring'));
    const text = await verify();
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`intact, ${before.records + 1} records, head signed`);
    expect(lines[1]).toMatch(new RegExp(`^key changed at record ${before.records + 1} \\(\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\): ${escape(before.key)} → SHA256:\\S+: the keychain holds no signing key`));
    const after = JSON.parse((await verify('--json')).stdout) as Verified;
    expect(after.key).not.toBe(before.key);
    expect(lines[2]).toBe(`head signing key: ${after.key}`);
    expect(after).toMatchObject({ ok: true, keyChanges: [{ record: before.records + 1, from: before.key, to: after.key }] });

    // Someone without the new key puts a rewritten log in place, handed over to a key of their own.
    const forged = await forgedHandedOverTrail(before.records);
    fs.rmSync(audit, { recursive: true });
    fs.cpSync(forged.dir, audit, { recursive: true });
    const refused = await verify('--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, problem: { message: expect.stringMatching(/signature is not valid/) } });
  });
});

/** Locks the keyring's collections, as a screen lock or `gnome-keyring` timeout would. */
async function lockKeyring(address: string): Promise<void> {
  await promisify(execFile)('dbus-send', [`--bus=${address}`, '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login']);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
