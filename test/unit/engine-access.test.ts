/**
 * May this user use the engine's socket: real unix sockets with real owners and modes, read by
 * the doctor as the kernel would judge them for another user (whose uid and groups are given).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupNameFromEtc, socketAccess, type Identity } from '../../main/core/engine/engine-access.js';
import { tempDir } from '../helpers/env.js';

const servers: net.Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

/** A listening unix socket owned by uid:gid with mode. */
async function socketFile(uid: number, gid: number, mode: number): Promise<string> {
  const file = path.join(tempDir(), 'docker.sock');
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(file, resolve));
  fs.chownSync(file, uid, gid);
  fs.chmodSync(file, mode);
  return file;
}

const alice: Identity = { uid: 4100, gids: [4100], user: 'alice' };
const groups = (gid: number) => (gid === 4200 ? 'docker' : undefined);

describe('the engine socket: who may use it', () => {
  it('a user outside the socket\'s group is refused, with the command that adds them to it', async () => {
    const file = await socketFile(0, 4200, 0o660);
    const access = socketAccess(file, { identity: alice, groupName: groups });
    expect(access).toEqual({
      ok: false,
      message: `alice may not use ${file} (root:docker, 660): not in the group docker`,
      fix: 'sudo usermod -aG docker alice, then log in again (or run `newgrp docker`); or use a rootless engine',
    });
  });

  it('a member of the group may use it, and is told the group is as good as root', async () => {
    const file = await socketFile(0, 4200, 0o660);
    const access = socketAccess(file, { identity: { ...alice, gids: [4100, 4200] }, groupName: groups });
    expect(access.ok).toBe(true);
    expect(access.message).toMatch(/alice may use .* as a member of docker \(which is as good as root/);
  });

  it('a group without write permission gives no right; root always has it', async () => {
    const file = await socketFile(0, 4200, 0o640);
    expect(socketAccess(file, { identity: { ...alice, gids: [4200] }, groupName: groups })).toMatchObject({ ok: false, fix: expect.stringMatching(/engine of your own/) });
    expect(socketAccess(file, { identity: { uid: 0, gids: [0], user: 'root' }, groupName: groups })).toMatchObject({ ok: true, message: expect.stringMatching(/^root may use/) });
  });

  it('a socket the user owns is a rootless engine', async () => {
    const file = await socketFile(4100, 4100, 0o600);
    expect(socketAccess(file, { identity: alice, groupName: groups })).toMatchObject({ ok: true, message: expect.stringMatching(/is yours: a rootless engine, running as alice/) });
  });

  it('no socket, or a plain file where the socket should be: not ok, with what to do', () => {
    const dir = tempDir();
    expect(socketAccess(path.join(dir, 'docker.sock'), { identity: alice })).toMatchObject({ ok: false, message: expect.stringMatching(/^no engine socket at /), fix: expect.stringMatching(/systemctl start docker/) });
    fs.writeFileSync(path.join(dir, 'plain'), '');
    expect(socketAccess(path.join(dir, 'plain'), { identity: alice })).toMatchObject({ ok: false, message: expect.stringMatching(/is not a socket$/) });
  });

  it('reads group names from a group file', () => {
    const file = path.join(tempDir(), 'group');
    fs.writeFileSync(file, 'root:x:0:\ndocker:x:105:alice\n');
    expect(groupNameFromEtc(105, file)).toBe('docker');
    expect(groupNameFromEtc(7, file)).toBeUndefined();
  });
});
