import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { engineEndpoint } from '../../main/core/server/endpoint.js';
import { startEngineServer } from '../../main/core/server/engine-server.js';
import { harness, REPO, runCli, tempDir, waitFor } from '../helpers/env.js';
import { enginesOf, isAlive, stopEngine, testClient } from '../helpers/engine.js';
import { runInEngine } from '../helpers/engine-task.js';

// The user's engine as the CLI sees it: started on demand, one per home however many clients
// start it at once, gone when idle or stopped (its tasks with it), a dead one's socket replaced,
// and an engine of another build replaced when idle or retired when busy.

const homes: string[] = [];
function newHome(): string {
  const home = path.join(tempDir(), 'home');
  homes.push(home);
  return home;
}
afterAll(async () => {
  for (const home of homes) await stopEngine(home);
});

const engine = harness().engine;

async function status(home: string, env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(['engine', 'status', '--json'], { env: { AIRLOCK_HOME: home, ...env } });
  return { ...result, json: JSON.parse(result.stdout) as { running: boolean; pid?: number; version?: string; clients?: number; tasks?: number; socket: string } };
}

describe('the engine', () => {
  it('starts on demand, says its status, and is one engine however many clients start it at once', async () => {
    const home = newHome();
    const before = await status(home);
    expect(before.code).toBe(3);
    expect(before.json.running).toBe(false);

    const starts = await Promise.all([1, 2, 3].map(() => runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } })));
    for (const start of starts) expect(start.code, start.stderr).toBe(0);
    const pids = starts.map((s) => /pid (\d+)/.exec(s.stdout)?.[1]);
    expect(new Set(pids).size).toBe(1);
    // The losers of the start race leave at once.
    await waitFor(async () => (enginesOf(home).length === 1 ? true : undefined), 'the other engines to leave', 10_000);
    expect(enginesOf(home)).toEqual([Number(pids[0])]);

    const after = await status(home);
    expect(after.json).toMatchObject({ running: true, pid: Number(pids[0]), clients: 1, tasks: 0 });
    // The socket is the user's alone: 0600 in a 0700 folder.
    expect(fs.statSync(after.json.socket).mode & 0o777).toBe(0o600);
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(engineEndpoint(home).log, 'utf8')).toMatch(/another Airlock engine already serves/);
    expect((await runCli(['engine', 'logs'], { env: { AIRLOCK_HOME: home } })).stdout).toMatch(new RegExp(`serving .*pid ${pids[0]}`));
  });

  it('two engines starting at the same instant: one serves, the other finds it and leaves (the start lock)', async () => {
    const home = newHome();
    const logged: string[] = [];
    const start = () => startEngineServer({ env: { ...process.env, AIRLOCK_HOME: home }, build: 'test', log: (line) => logged.push(line), idleMs: 0 });
    const started = await Promise.all([start(), start(), start()]);
    const serving = started.filter((engine) => engine !== undefined);
    try {
      expect(serving).toHaveLength(1);
      const client = await testClient(home);
      expect(await client.call('engine.status')).toMatchObject({ pid: process.pid, clients: 1 });
      await client.close();
    } finally {
      await Promise.all(serving.map((engine) => engine.stop('test over')));
    }
  });

  it('leaves by itself when idle (AIRLOCK_ENGINE_IDLE)', async () => {
    const home = newHome();
    const start = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home, AIRLOCK_ENGINE_IDLE: '300ms' } });
    const pid = Number(/pid (\d+)/.exec(start.stdout)?.[1]);
    await waitFor(async () => (isAlive(pid) ? undefined : true), 'the idle engine to exit', 10_000);
    expect(fs.existsSync(engineEndpoint(home).socket)).toBe(false);
    expect(fs.readFileSync(engineEndpoint(home).log, 'utf8')).toMatch(/stopping: idle for 300 ms/);
  });

  it('replaces the socket of an engine killed outright', async () => {
    const home = newHome();
    const first = Number(/pid (\d+)/.exec((await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } })).stdout)?.[1]);
    process.kill(first, 'SIGKILL');
    await waitFor(async () => (isAlive(first) ? undefined : true), 'the engine to die');
    expect(fs.existsSync(engineEndpoint(home).socket)).toBe(true); // left behind
    expect((await status(home)).json.running).toBe(false);
    const restart = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } });
    expect(restart.code, restart.stderr).toBe(0);
    const second = Number(/pid (\d+)/.exec(restart.stdout)?.[1]);
    expect(second).not.toBe(first);
    // SIGTERM: stops as engine.stop does, and removes its socket.
    process.kill(second, 'SIGTERM');
    await waitFor(async () => (isAlive(second) ? undefined : true), 'the engine to exit on SIGTERM', 10_000);
    expect(fs.existsSync(engineEndpoint(home).socket)).toBe(false);
    expect(fs.readFileSync(engineEndpoint(home).log, 'utf8')).toMatch(/stopping: SIGTERM received\n.*stopped/);
  });

  it('stopped, stops its running tasks first and says which; an idle engine of another build is replaced, a busy one retired', async () => {
    const home = newHome();
    const dir = tempDir();
    // Another build of the CLI: the same bundle with another build.json beside it.
    const otherDir = path.join(REPO, 'out', `cli-other-${randomBytes(4).toString('hex')}`);
    fs.mkdirSync(otherDir);
    try {
      for (const file of ['airlock.cjs', 'engine.cjs', 'engine-main.cjs']) fs.copyFileSync(path.join(REPO, 'out', 'cli', file), path.join(otherDir, file));
      fs.writeFileSync(path.join(otherDir, 'build.json'), JSON.stringify({ version: '0.0.9', digest: 'f'.repeat(64) }));
      const startOther = await runCliWith(path.join(otherDir, 'airlock.cjs'), ['engine', 'start'], home);
      expect(startOther.code, startOther.stderr).toBe(0);
      const oldPid = Number(/pid (\d+)/.exec(startOther.stdout)?.[1]);

      // Idle: this build says so in one line, stops it and starts its own.
      // (Looking is not replacing: status shows whichever engine runs.)
      expect((await status(home)).json).toMatchObject({ pid: oldPid, version: '0.0.9+ffffffffffff' });
      const replaced = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } });
      expect(replaced.stderr.trim().split('\n')).toEqual([expect.stringMatching(/engine is build 0\.0\.9\+ffffffffffff, this is .*: restarting it/)]);
      expect(Number(/pid (\d+)/.exec(replaced.stdout)?.[1])).not.toBe(oldPid);
      await waitFor(async () => (isAlive(oldPid) ? undefined : true), 'the old engine to exit', 10_000);

      // Busy (a task runs in the other build's engine): used, and asked to exit once idle.
      await stopEngine(home);
      const busyPid = Number(/pid (\d+)/.exec((await runCliWith(path.join(otherDir, 'airlock.cjs'), ['engine', 'start'], home)).stdout)?.[1]);
      const client = await testClient(home);
      const { task } = await runInEngine(client, dir, 'name: engine-stop\ncommand: ["sh", "-c", "echo up; sleep 120"]\n');
      const used = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } });
      expect(used.stderr.trim().split('\n')).toEqual([expect.stringMatching(/it runs 1 task\(s\), so it is used and exits once idle/)]);
      expect(used.stdout).toMatch(new RegExp(`pid ${busyPid},[\\s\\S]*tasks +1`));
      await client.close();

      const stop = await runCli(['engine', 'stop'], { env: { AIRLOCK_HOME: home } });
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stdout).toContain(`stopped ${task} (engine-stop)`);
      expect(stop.stdout).toContain(`stopped the Airlock engine (pid ${busyPid})`);
      await waitFor(async () => (isAlive(busyPid) ? undefined : true), 'the engine to exit', 10_000);
      expect((await listTaskObjects(engine)).find((t) => t.task === task)).toBeUndefined();
      const log = await runCli(['log', task, '--json'], { env: { AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess' } });
      expect(log.stdout).toMatch(/"kind":"task\.cancelled"/);
      expect(log.stdout).toMatch(/"kind":"task\.destroyed"/);
    } finally {
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  }, 90_000);
  it('keeps a warm pool (AIRLOCK_POOL_SIZE): status shows it ready, a run takes the prepared sandbox, the pool is refilled, and stopping leaves nothing', async () => {
    const home = newHome();
    const env = { AIRLOCK_HOME: home, AIRLOCK_POOL_SIZE: '1' };
    const dir = path.dirname(home);
    const manifest = path.join(dir, 'pooled.yaml');
    fs.writeFileSync(manifest, 'name: pooled\ncommand: ["sh", "-c", "echo from the pool"]\n');
    expect((await runCli(['agents', 'approve', manifest], { env })).code).toBe(0);
    const ready = async () => {
      const json = (await status(home, env)).json as { pool?: { size: number; ready: number } };
      return json.pool?.ready === 1 ? json : undefined;
    };
    expect(await waitFor(ready, 'the pool to prepare a sandbox', 30_000)).toMatchObject({ pool: { size: 1, ready: 1 } });
    const human = await runCli(['engine', 'status'], { env });
    expect(human.stdout).toMatch(/^pool\s+1 of 1 prepared sandbox ready/m);

    const run = await runCli(['run', manifest, '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { kind: string; task: string; data: Record<string, unknown> });
    const created = events.find((e) => e.kind === 'task.created')!;
    expect(created.data.pool).toMatchObject({ slot: created.task });
    expect(events.filter((e) => e.kind === 'proc.stdout').map((e) => e.data.line)).toEqual(['from the pool']);
    // A fresh sandbox takes the used one's place; the used one is gone with its task.
    await waitFor(ready, 'the pool to be refilled', 30_000);
    expect((await listTaskObjects(engine)).find((t) => t.task === created.task)).toBeUndefined();

    const pid = (await status(home, env)).json.pid!;
    expect((await runCli(['engine', 'stop'], { env })).code).toBe(0);
    // The prepared sandbox the engine held went with it.
    expect((await listTaskObjects(engine)).filter((t) => t.owner?.split(':')[1] === String(pid))).toEqual([]);
  }, 90_000);
});

function runCliWith(bundle: string, args: string[], home: string) {
  return runCli(args, { env: { AIRLOCK_HOME: home }, program: bundle });
}
