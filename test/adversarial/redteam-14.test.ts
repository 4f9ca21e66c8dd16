/**
 * Red team of issue 14 (one engine per user): attacks next to the ones engine-socket.test.ts,
 * engine-cli.test.ts and pool-isolation.test.ts already make.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineEndpoint } from '../../main/core/server/endpoint.js';
import { runCli, tempDir } from '../helpers/env.js';
import { enginesOf, stopEngine } from '../helpers/engine.js';

const NOBODY = 65534;

/**
 * Another user (nobody) made the AIRLOCK_HOME folder first (a shared /tmp path, a home set in a
 * script) and planted `engine.log` as a symlink to one of our files. Starting the engine there must
 * neither write through the link nor run an engine whose state (trail, approvals, credentials
 * list) another user controls.
 */
describe('an AIRLOCK_HOME another user made first', () => {
  function plantedHome(home: string): { victim: string; before: string } {
    const mine = tempDir();
    const victim = path.join(mine, 'notes.txt');
    const before = 'my own file: not a log\n';
    fs.writeFileSync(victim, before, { mode: 0o600 });
    fs.mkdirSync(home, { mode: 0o777 });
    fs.chmodSync(home, 0o777);
    fs.symlinkSync(victim, path.join(home, 'engine.log'));
    fs.lchownSync(path.join(home, 'engine.log'), NOBODY, NOBODY);
    fs.chownSync(home, NOBODY, NOBODY);
    return { victim, before };
  }

  it('is refused, naming it, and nothing is written through a planted engine.log', async () => {
    const home = path.join(tempDir(), 'shared-home');
    const { victim, before } = plantedHome(home);
    try {
      const started = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } });
      expect(started.code).not.toBe(0);
      expect(started.stderr).toContain(home);
      expect(started.stderr).toMatch(/not a folder of this user|belongs to uid/);
      expect(fs.readFileSync(victim, 'utf8')).toBe(before);
      expect(enginesOf(home)).toEqual([]);
    } finally {
      await stopEngine(home);
    }
  });

  it('is refused also when the home is too deep for a socket (the socket then lives elsewhere)', async () => {
    const home = path.join(tempDir(), 'd'.repeat(60), 'e'.repeat(60), 'shared-home');
    fs.mkdirSync(path.dirname(home), { recursive: true });
    expect(engineEndpoint(home).folder).not.toBe(home);
    const { victim, before } = plantedHome(home);
    try {
      const started = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } });
      expect(started.code).not.toBe(0);
      expect(started.stderr).toContain(home);
      expect(fs.readFileSync(victim, 'utf8')).toBe(before);
      expect(enginesOf(home)).toEqual([]);
      // Nothing of ours went into the other user's folder.
      expect(fs.readdirSync(home).sort()).toEqual(['engine.log']);
    } finally {
      await stopEngine(home);
    }
  });
});
