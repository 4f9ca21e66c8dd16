import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { currentOwner, isOwnedHere, isOwnerAlive } from '../../main/core/tasks/owner.js';

describe('task owners', () => {
  it('this process is alive; a finished process is not', () => {
    expect(isOwnerAlive(currentOwner())).toBe(true);
    const finished = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    expect(isOwnerAlive(currentOwner(Number(finished.stdout.trim())))).toBe(false);
  });

  it('a reused pid with another start time is not the owner', () => {
    const [host, pid] = currentOwner().split(':');
    expect(isOwnerAlive(`${host}:${pid}:1`)).toBe(false);
  });

  it('only judges owners on this machine', () => {
    expect(isOwnedHere(currentOwner())).toBe(true);
    expect(isOwnedHere(`not-${os.hostname()}:1:1`)).toBe(false);
    expect(isOwnerAlive(`not-${os.hostname()}:${process.pid}:0`)).toBe(false);
    expect(isOwnerAlive(undefined)).toBe(false);
  });
});
