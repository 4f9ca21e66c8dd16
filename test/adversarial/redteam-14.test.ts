/**
 * Red team of issue 14 (one engine per user): attacks next to the ones engine-socket.test.ts,
 * engine-cli.test.ts and pool-isolation.test.ts already make.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineEndpoint } from '../../main/core/server/endpoint.js';
import { startEngineServer } from '../../main/core/server/engine-server.js';
import { runCli, tempDir, waitFor } from '../helpers/env.js';
import { enginesOf, stopEngine, testClient } from '../helpers/engine.js';

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

/**
 * A Docker engine that is slow to create containers (a loaded machine): a proxy of the real
 * socket that holds every request after a `containers/create` until released.
 */
async function slowDockerEngine(dir: string) {
  const socket = path.join(dir, 'docker.sock');
  let released = false;
  let held = 0;
  const waiting: (() => void)[] = [];
  const server = net.createServer((client) => {
    const upstream = net.createConnection('/var/run/docker.sock');
    let holding = false;
    const queued: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      if (!released && !holding && chunk.includes('/containers/create')) {
        holding = true;
        held += 1;
        waiting.push(() => {
          for (const part of queued.splice(0)) upstream.write(part);
        });
      }
      if (holding && !released) queued.push(chunk);
      else upstream.write(chunk);
    });
    upstream.pipe(client);
    for (const end of [client, upstream]) end.on('error', () => (client.destroy(), upstream.destroy()));
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    host: `unix://${socket}`,
    held: () => held,
    release() {
      released = true;
      for (const go of waiting.splice(0)) go();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a client of another build while a task is starting', () => {
  it('sees the task and leaves the engine running it (retired, not stopped)', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const docker = await slowDockerEngine(dir);
    const logged: string[] = [];
    const engine = await startEngineServer({
      env: { ...process.env, AIRLOCK_HOME: home, DOCKER_HOST: docker.host, AIRLOCK_POOL_SIZE: '0' },
      build: '0.0.1+older-build', log: (line) => logged.push(line), idleMs: 0,
    });
    if (!engine) throw new Error('another engine serves this home');
    const client = await testClient(home);
    try {
      const file = path.join(dir, 'agent.yaml');
      fs.writeFileSync(file, 'name: slow-start\ncommand: ["sh", "-c", "echo up"]\nnetwork: { mode: none }\ntimeout: 1m\n');
      const agent = await client.call('agents.openFile', file);
      await client.call('agents.approve', agent.id, {});
      const { task } = await client.call('tasks.run', { agentId: agent.id });
      await waitFor(async () => (docker.held() > 0 ? true : undefined), 'the task to be creating its containers');

      // The CLI of this build (not the engine's) connects while the task is still starting.
      const cli = runCli(['cred', 'ls'], { env: { AIRLOCK_HOME: home } });
      await waitFor(async () => (logged.some((line) => /another build asked|asked to stop/.test(line)) ? true : undefined), 'the other build to decide');
      docker.release();
      const listed = await cli;
      expect(listed.stderr).not.toContain('restarting it');
      expect(listed.stderr).toContain('it runs 1 task(s)');
      expect(listed.code, listed.stderr).toBe(0);
      expect(logged.some((line) => line.includes('asked to stop'))).toBe(false);

      // The task ran to its end on the engine that was left running.
      const end = await client.call('tasks.wait', task);
      expect(end).toMatchObject({ state: 'exited', exitCode: 0 });
      expect(await client.call('engine.status')).toMatchObject({ pid: process.pid });
    } finally {
      docker.release();
      await client.close();
      await engine.stop('test over');
      await stopEngine(home);
      await docker.close();
    }
  });
});

/**
 * Something of the same user answers on the engine's socket and lies in its hello: a build that
 * carries terminal escapes, or another protocol with the pid of an innocent process, hoping the
 * client prints the one and signals the other (a client of another build stops an idle engine).
 */
describe('a process on the engine socket that lies in its hello', () => {
  async function impostor(home: string, hello: Record<string, unknown>): Promise<{ close: () => Promise<void>; received: () => number }> {
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    let received = 0;
    const server = net.createServer((socket) => {
      socket.on('data', (d: Buffer) => {
        received += d.length;
        socket.end(`${JSON.stringify({ hello })}\n`);
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(engineEndpoint(home).socket, resolve));
    fs.chmodSync(engineEndpoint(home).socket, 0o600); // as an engine's own: the file checks pass
    return { close: () => new Promise((resolve) => server.close(() => resolve())), received: () => received };
  }

  it('is believed in nothing: no escape reaches the terminal, and an innocent pid is never signalled', async () => {
    const innocent = spawn('sleep', ['60']);
    const home = path.join(tempDir(), 'home');
    const lying = await impostor(home, { protocol: 99, build: 'x', pid: innocent.pid, tasks: 0 });
    try {
      const run = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } });
      expect(run.code).toBe(125);
      expect(run.stderr).toMatch(/does not look like an Airlock engine/);
      expect(innocent.exitCode).toBeNull();
      expect(innocent.signalCode).toBeNull();
    } finally {
      await lying.close();
      innocent.kill();
    }

    const home2 = path.join(tempDir(), 'home');
    const escapes = await impostor(home2, { protocol: 1, build: '\u001b]0;pwned\u0007\u001b[2J', pid: process.pid, tasks: 0 });
    try {
      const run = await runCli(['ps'], { env: { AIRLOCK_HOME: home2 } });
      expect(run.code).toBe(125);
      expect(run.stderr).toMatch(/not an Airlock engine/);
      expect(run.stderr + run.stdout).not.toContain('\u001b');
    } finally {
      await escapes.close();
    }
  });
});

describe('the engine log on the terminal', () => {
  it('`airlock engine logs` prints what the log quotes inert: no escape sequence reaches the terminal', async () => {
    const home = path.join(tempDir(), 'home');
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    // A line as an unexpected error quoting agent-chosen text would leave it, a character cut by
    // the read boundary included.
    fs.writeFileSync(engineEndpoint(home).log, `2026-12-01T00:00:00Z IPC tasks.start failed: no such file \u001b]0;pwned\u0007\u001b[2J\u202eevil ✓\n`);
    const logs = await runCli(['engine', 'logs'], { env: { AIRLOCK_HOME: home } });
    expect(logs.code).toBe(0);
    expect(logs.stdout).not.toContain('\u001b');
    expect(logs.stdout).not.toContain('\u0007');
    expect(logs.stdout).not.toContain('\u202e');
    expect(logs.stdout).toMatch(/IPC tasks\.start failed: no such file .*evil ✓\n$/);
  });
});
