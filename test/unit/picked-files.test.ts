/**
 * The run dialog's token table (main/ipc/picked-files.ts): a token names a host file for the window
 * that chose it, until it expires (fake clock); an unknown, expired or other window's token is
 * refused with the same clear error; a window's choices go with it, and a window cannot hoard them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../main/core/server/dispatch.js';
import { MAX_PICKS_PER_WINDOW, PICK_TTL_MS, PickedFiles } from '../../main/ipc/picked-files.js';
import { pickToken } from '../../preload/contract.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-picks-'));
fs.writeFileSync(path.join(dir, 'data.csv'), 'a,b\n1,2\n');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function window(): Caller & { go(): void } {
  const gone = new Set<() => void>();
  return {
    push: () => undefined,
    onGone: (listener) => (gone.add(listener), () => gone.delete(listener)),
    go: () => [...gone].forEach((listener) => listener()),
  };
}

function table() {
  const clock = { now: 1_000_000 };
  return { clock, picks: new PickedFiles({ now: () => clock.now }) };
}

describe('picked files', () => {
  it("answers a token and what to show (name, kind, size), never the path; the same window swaps it back", () => {
    const { picks } = table();
    const caller = window();
    const file = picks.add(caller, path.join(dir, 'data.csv'));
    const folder = picks.add(caller, dir);
    expect(file).toEqual({ token: expect.any(String), name: 'data.csv', kind: 'file', size: 8 });
    expect(folder).toMatchObject({ name: path.basename(dir), kind: 'folder' });
    expect(JSON.stringify([file, folder])).not.toContain(os.tmpdir());
    expect(pickToken.safeParse(file.token).success).toBe(true);
    expect(file.token).not.toBe(folder.token);
    expect(picks.resolve(caller, file.token, 'input 1')).toBe(path.join(dir, 'data.csv'));
    expect(picks.resolve(caller, folder.token, 'project')).toBe(dir);
  });

  it('refuses an unknown token, another window\'s, and one past its 30 minutes, the same way', () => {
    const { clock, picks } = table();
    const mine = window();
    const other = window();
    const { token } = picks.add(mine, dir);
    const refusal = /project: this window did not choose that file, or the choice expired/;
    expect(() => picks.resolve(other, token, 'project')).toThrow(refusal);
    expect(() => picks.resolve(mine, `pick_${'A'.repeat(43)}`, 'project')).toThrow(refusal);
    clock.now += PICK_TTL_MS - 1;
    expect(picks.resolve(mine, token, 'project')).toBe(dir);
    clock.now += 1;
    expect(() => picks.resolve(mine, token, 'project')).toThrow(refusal);
    expect(picks.count(mine)).toBe(0);
  });

  it("forgets a window's choices when it goes (closed, reloaded), and keeps at most a bounded number per window", () => {
    const { picks } = table();
    const caller = window();
    const first = picks.add(caller, dir);
    for (let i = 0; i < MAX_PICKS_PER_WINDOW; i++) picks.add(caller, dir);
    expect(picks.count(caller)).toBe(MAX_PICKS_PER_WINDOW);
    expect(() => picks.resolve(caller, first.token, 'project')).toThrow(/did not choose/);
    const last = picks.add(caller, dir);
    caller.go();
    expect(() => picks.resolve(caller, last.token, 'project')).toThrow(/did not choose/);
    expect(picks.count(caller)).toBe(0);
  });

  it('tells a missing file apart without failing', () => {
    const { picks } = table();
    expect(picks.add(window(), path.join(dir, 'gone.txt'))).toMatchObject({ name: 'gone.txt', kind: 'missing' });
  });
});
