import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { Engine } from '../../main/core/engine/engine.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { homeLayout } from '../../main/core/home.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { connectEngine } from '../../main/core/server/connect.js';
import type { Caller } from '../../main/core/server/dispatch.js';
import { registerContextHandlers } from '../../main/ipc/contexts.js';
import { EngineConnections } from '../../main/ipc/engine-link.js';
import { invokeChecked, type Handler } from '../../main/ipc/register.js';
import type { Channel } from '../../preload/contract.js';
import { enginesOf, stopEngine, testClient } from '../helpers/engine.js';
import { runInEngine } from '../helpers/engine-task.js';
import { approve, CLI, lines, REPO, runCli, specFrom, TEST_ENGINE_ENV, tempDir, waitFor } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  [sshd, remotes] = await Promise.all([startSshd(), startRemotes()]);
});
/** Engines a test made itself: their shared ssh sessions end with the file. */
const engines: Engine[] = [];
afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  await Promise.all([sshd?.stop(), remotes?.close()]);
});

/** The environment of a user whose DOCKER_HOST is the ssh engine. */
const sshEnv = (extra: NodeJS.ProcessEnv = {}) => sshd.env({ ...process.env, DOCKER_HOST: sshd.url, ...extra });

describe('an ssh:// engine (a real sshd and ssh client, docker system dial-stdio)', () => {
  it('runs a sandboxed task exactly as locally: inputs streamed in, the relay over a hijacked attach, exit code, nothing left', async () => {
    const engine = Engine.connect(sshEnv());
    expect(engine.endpoint).toMatchObject({ kind: 'ssh', source: 'DOCKER_HOST', remote: true });
    const root = tempDir();
    const bus = new EventBus(systemClock);
    const events: AirlockEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const gateway = new Gateway({ bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, approvalTimeoutMs: 2000 });
    const runner = new TaskRunner({ engine, bus, clock: systemClock, home: homeLayout(path.join(root, 'home')), gateway, assetsDir: path.join(REPO, 'assets') });
    fs.mkdirSync(path.join(root, 'data'));
    fs.writeFileSync(path.join(root, 'data', 'note.txt'), 'from the host\n');
    const outcome = await runner.run(specFrom(root, `
name: over-ssh
command: ["sh", "-c", "cat /workspace/in/note.txt; curl -sS http://api.vendor.test/over-ssh; curl -s http://other.test/ | head -c 40; echo; exit 3"]
inputs: [{ from: ./data, to: /workspace/in }]
network: { mode: allowlist, allow: [api.vendor.test] }
`));
    expect(outcome).toMatchObject({ status: 'exited', exitCode: 3 });
    const out = lines(events);
    expect(out.slice(0, 2)).toEqual(['from the host', 'hello from api.vendor.test/over-ssh (GET)']);
    expect(out[2]).toMatch(/^Airlock refused other\.test/);
    expect(events.some((e) => e.kind === 'net.denied')).toBe(true);
    expect((await listTaskObjects(engine)).filter((t) => t.task === outcome.task)).toEqual([]);
    await engine.close();
  });

  it('the CLI runs a task over it through its engine process', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(file, 'name: ssh-echo\ncommand: ["sh", "-c", "echo hello over ssh; exit 4"]\n');
    approve(file, home);
    const run = await runCli(['run', file], { env: sshEnv({ AIRLOCK_HOME: home }) });
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(run.stdout).toContain('hello over ssh');
    expect(run.code).toBe(4);
  });

  it('honours Docker contexts the docker CLI made: --context, and `docker context use` gets a fresh engine when idle', async () => {
    const dir = tempDir();
    const DOCKER_CONFIG = path.join(dir, 'docker');
    const docker = (...args: string[]) => execFileSync('docker', args, { env: { ...process.env, DOCKER_CONFIG }, stdio: 'ignore' });
    docker('context', 'create', 'ssh-box', '--docker', `host=${sshd.url}`);
    const home = path.join(dir, 'home');
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(file, 'name: ctx-echo\ncommand: ["echo", "hello from a context"]\n');
    approve(file, home);
    const env = sshd.env({ ...process.env, DOCKER_CONFIG, AIRLOCK_HOME: home, DOCKER_HOST: 'unix:///nowhere.sock' });
    const logins = () => (fs.readFileSync(path.join(sshd.dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length;

    const before = logins();
    const viaFlag = await runCli(['--context', 'ssh-box', 'run', file], { env });
    expect(viaFlag.stdout).toContain('hello from a context');
    expect(viaFlag.code).toBe(0);
    expect(logins()).toBeGreaterThan(before); // over ssh, though DOCKER_HOST names another engine

    const missing = await runCli(['--context', 'nope', 'ps'], { env });
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/^airlock: the Docker context "nope" does not exist \(in .*\)\n {2}fix: list the contexts with `docker context ls`/m);
    expect(missing.stderr).not.toMatch(/internal error|\n\s+at /);

    const unset = { ...env, DOCKER_HOST: '' };
    docker('context', 'use', 'ssh-box');
    const middle = logins();
    const used = await runCli(['run', file], { env: unset, timeoutMs: 60_000 });
    expect(used.code).toBe(0);
    expect(logins()).toBeGreaterThan(middle);
    docker('context', 'use', 'default');
    const back = await runCli(['run', file], { env: unset, timeoutMs: 60_000 });
    expect(back.stderr).toMatch(/the running Airlock engine was started with other settings .*: restarting it/);
    expect(back.code).toBe(0);
  });

  it('the app\'s switch: refused while a task runs on the engine; then the page\'s next call is served by a fresh engine on the new context', async () => {
    const dir = tempDir();
    const DOCKER_CONFIG = path.join(dir, 'docker');
    execFileSync('docker', ['context', 'create', 'ssh-box', '--docker', `host=${sshd.url}`], { env: { ...process.env, DOCKER_CONFIG }, stdio: 'ignore' });
    const home = path.join(dir, 'home');
    const env = sshd.env({ ...process.env, ...TEST_ENGINE_ENV, DOCKER_CONFIG, AIRLOCK_HOME: home, DOCKER_HOST: '' });
    const connections = new EngineConnections(() => connectEngine({ env, spawn: { command: process.execPath, args: [CLI] }, client: 'app', notice: () => undefined }));
    const page: Caller = { push: () => undefined, onGone: () => () => undefined };
    const handlers = new Map<Channel, Handler<Channel>>();
    registerContextHandlers((channel, handler) => void handlers.set(channel, handler as unknown as Handler<Channel>), { engine: connections, env });
    const useContext = (name: string) => invokeChecked('engine.useContext', handlers.get('engine.useContext')!, [name], page, () => undefined);
    try {
      expect((await connections.call(page, 'doctor.run')).engine.endpoint).toMatch(/^unix:\/\//);
      const [first] = enginesOf(home);
      const client = await testClient(home);
      const { task } = await runInEngine(client, dir, 'name: busy\ncommand: ["sh", "-c", "echo up; sleep 60"]\n');
      expect(await useContext('ssh-box')).toMatchObject({ ok: false, error: { code: 'policy_refused', message: 'cannot switch the Docker engine while 1 task runs on it (busy)' } });
      expect(fs.existsSync(path.join(DOCKER_CONFIG, 'config.json'))).toBe(false);
      await client.call('tasks.stop', task);
      await waitFor(async () => ((await client.call('tasks.list')).some((t) => t.id === task && ['starting', 'running', 'frozen'].includes(t.state)) ? undefined : true), 'the task to end');
      await client.close();

      expect(await useContext('ssh-box')).toMatchObject({ ok: true, value: { current: 'ssh-box' } });
      expect((await connections.call(page, 'doctor.run')).engine.endpoint).toBe(`${sshd.url} (Docker context "ssh-box")`);
      expect(enginesOf(home)).not.toContain(first);
    } finally {
      await connections.closeAll();
      await stopEngine(home);
    }
  });

  it('ssh refusing the key is one line naming the fix, from the core and from the CLI', async () => {
    sshd.useKey('stranger');
    try {
      const engine = Engine.connect(sshEnv());
      engines.push(engine);
      await expect(engine.info()).rejects.toMatchObject({
        code: 'engine_unavailable',
        message: `cannot reach the Docker engine at ssh://${sshd.user}@${sshd.host}: permission denied for ${sshd.user} (publickey)`,
        hint: expect.stringMatching(/authorized_keys .*ssh-add/),
      });
      const dir = tempDir();
      const run = await runCli(['run', '--help'], { env: sshEnv({ AIRLOCK_HOME: path.join(dir, 'home') }) });
      expect(run.code).toBe(0);
      const ps = await runCli(['ps'], { env: sshEnv({ AIRLOCK_HOME: path.join(dir, 'home') }) });
      expect(ps.code).toBe(125);
      expect(ps.stderr).toMatch(/^airlock: cannot reach the Docker engine at ssh:\/\/.*permission denied.*\n {2}fix: add your public key/);
      expect(ps.stderr.split('\n').length).toBe(3);
    } finally {
      sshd.useKey('authorized');
    }
  });

  it('an unknown host key is refused, never accepted on first use', async () => {
    const kept = fs.readFileSync(sshd.knownHosts);
    fs.writeFileSync(sshd.knownHosts, '');
    try {
      const engine = Engine.connect(sshEnv());
      engines.push(engine);
      await expect(engine.info()).rejects.toMatchObject({
        message: expect.stringMatching(/host key verification failed/),
        hint: expect.stringMatching(/check the fingerprint/),
      });
      expect(fs.readFileSync(sshd.knownHosts, 'utf8')).toBe(''); // nothing was learned
    } finally {
      fs.writeFileSync(sshd.knownHosts, kept);
    }
  });

  it('what a hostile remote prints to ssh\'s stderr reaches the user inert and bounded', async () => {
    // A remote whose "docker" answers with terminal escapes, a bidi override and a megabyte of noise.
    const script = path.join(tempDir(), 'hostile-docker');
    fs.writeFileSync(script, '#!/bin/sh\nprintf \'\\033]0;pwned\\007\\033[2J\\342\\200\\256evil\' >&2\nhead -c 1000000 /dev/zero | tr "\\0" x >&2\nexit 1\n', { mode: 0o755 });
    const hostile = await startSshd({ forcedCommand: script });
    try {
      const engine = Engine.connect(hostile.env({ ...process.env, DOCKER_HOST: hostile.url }));
      engines.push(engine);
      const error = await engine.info().then(() => undefined, (failure: unknown) => failure as Error);
      expect(error).toMatchObject({ code: 'engine_unavailable', message: expect.stringMatching(/^cannot reach the Docker engine at ssh:\/\/\S+: /) });
      expect(error!.message).not.toMatch(/[\p{Cc}\u202e]/u);
      expect(error!.message).toMatch(/\]0;pwned.*\[2Jevilxxx/); // what it said, without the escapes
      expect(error!.message.length).toBeLessThan(400);
    } finally {
      await hostile.stop();
    }
  });

  it('a host or user that ssh would read as an option is refused before any ssh runs', async () => {
    const bin = tempDir();
    const log = path.join(bin, 'ssh-ran');
    fs.writeFileSync(path.join(bin, 'ssh'), `#!/bin/sh\necho "$@" >> ${log}\nexit 255\n`, { mode: 0o755 });
    for (const hostile of ['ssh://-oProxyCommand=id', 'ssh://-oProxyCommand=id:22', 'ssh://%2DoProxyCommand=id@build.test']) {
      const attempt = async () => Engine.connect({ ...process.env, PATH: `${bin}:${process.env.PATH}`, DOCKER_HOST: hostile }).info();
      await expect(attempt()).rejects.toMatchObject({ code: 'engine_unavailable', message: expect.stringMatching(/is not an ssh address Airlock can use: the host or user is not a name/) });
    }
    expect(fs.existsSync(log)).toBe(false);
  });
});
