import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { homeLayout } from '../../main/core/home.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { CLI, harness, lines, REPO, runCli, specFrom, startCliRun, tempDir, waitFor } from '../helpers/env.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startRemotes } from '../helpers/remotes.js';

// Fail closed: if the Airlock process running a task dies (or hangs), the task ends on its own —
// its sidecar, which the agent can neither signal nor trace, holds the task's PID namespace and its
// life is Airlock's attach stream and the task's deadline.

let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes.close();
});

const engine = harness().engine;

/** The task's containers that still run (the sidecar removes itself when it exits). */
async function running(task: string): Promise<string[]> {
  const objects = (await listTaskObjects(engine)).find((t) => t.task === task);
  return (objects?.containers ?? []).filter((c) => c.state === 'running').map((c) => c.id);
}

function addCredential(home: string): void {
  execFileSync(process.execPath, [CLI, 'cred', 'add', 'vendor-api', '--host', 'api.vendor.test'], { input: 'fail-closed-secret', env: { ...process.env, AIRLOCK_HOME: home } });
}

describe('the Airlock engine killed mid-task', () => {
  it.each([
    ['no network', 'name: killed-none\ncommand: ["sh", "-c", "echo up; sleep 120"]\n'],
    ['a network and a lent credential', 'name: killed-net\ncommand: ["sh", "-c", "echo up; sleep 120"]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\ncredentials: [{ name: vendor-api, env: VENDOR_TOKEN }]\n'],
    ['a display', 'name: killed-display\ncommand: ["sh", "-c", "echo up; sleep 120"]\ndisplay: { width: 640, height: 480 }\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\n'],
  ])('with %s: its containers stop on their own within seconds, the CLI says so, and the next start records task.aborted', async (_what, manifest) => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    addCredential(home);
    const run = await startCliRun(dir, manifest, home);
    expect(await running(run.task)).toHaveLength(2);
    // The process that runs the task is the engine (the CLI is its client): that is what dies.
    const status = await runCli(['engine', 'status', '--json'], { env: { AIRLOCK_HOME: home } });
    const enginePid = (JSON.parse(status.stdout) as { pid: number }).pid;
    const killedAt = Date.now();
    process.kill(enginePid, 'SIGKILL');
    // Its client says so in one line and fails.
    expect(await run.exited).not.toBe(0);
    expect(run.errors()).toMatch(/^airlock: the Airlock engine stopped: .*$/m);
    // No other Airlock start in between: the task ends by itself.
    await waitFor(async () => ((await running(run.task)).length === 0 ? true : undefined), 'the task to stop on its own', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    // The next start reaps what is left and records the task's end.
    expect((await runCli(['ps'], { env: { AIRLOCK_HOME: home } })).code).toBe(0);
    expect((await listTaskObjects(engine)).find((t) => t.task === run.task)).toBeUndefined();
    const log = await runCli(['log', run.task, '--json'], { env: { AIRLOCK_HOME: home } });
    expect(log.stdout.trim().split('\n').map((l) => JSON.parse(l) as AirlockEvent).at(-1)).toMatchObject({ kind: 'task.aborted', task: run.task });
  }, 90_000);
});

describe('a hung Airlock', () => {
  it('cannot keep a task past its deadline: the sidecar ends it on its own (wall clock), and Airlock says why', async () => {
    const { root } = harness();
    const clock = new FakeClock(); // Airlock's own timers never fire: as if it hung
    const bus = new EventBus(clock);
    const events: AirlockEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const runner = new TaskRunner({ engine, bus, clock, home: homeLayout(path.join(root, 'home')), sidecarGraceMs: 1000 });
    const started = Date.now();
    const outcome = await runner.run(specFrom(root, 'name: overstayer\ncommand: ["sh", "-c", "echo up; sleep 120; echo never"]\ntimeout: 2s\n'));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome.status).toBe('stopped');
    expect(lines(events)).toEqual(['up']);
    expect(events.find((e) => e.kind === 'task.stopped')?.data.reason).toMatch(/sidecar ended.*deadline passed/);
    expect((await listTaskObjects(engine)).find((t) => t.task === outcome.task)).toBeUndefined();
  });
});

describe('the sidecar against its own agent', () => {
  it('cannot be signalled, traced or read by the agent, which shares its PID namespace', async () => {
    const { root, events, runner } = harness();
    // Find the sidecar's processes (another uid), then try everything an unprivileged process can.
    const script = [
      'for p in /proc/[0-9]*; do [ "$(awk \'/^Uid:/{print $2}\' $p/status 2>/dev/null)" = 10002 ] && echo ${p#/proc/}; done > /tmp/pids',
      'echo "sidecar processes: $(wc -l < /tmp/pids)"',
      'for pid in $(cat /tmp/pids); do kill -KILL $pid 2>&1 | sed "s/.*: //"; kill -TERM $pid 2>&1 | sed "s/.*: //"; cat /proc/$pid/environ >/dev/null 2>&1 || echo "environ refused"; ls /proc/$pid/fd >/dev/null 2>&1 || echo "fds refused"; done',
      'sleep 1; echo "still here"',
    ].join('; ');
    const outcome = await runner.run(specFrom(root, `name: parricide\ncommand: ["bash", "-c", ${JSON.stringify(script)}]\n`));
    expect(outcome).toMatchObject({ status: 'exited', exitCode: 0 });
    const out = lines(events);
    expect(Number(/sidecar processes: (\d+)/.exec(out[0]!)?.[1])).toBeGreaterThanOrEqual(2); // its init and the sidecar itself
    expect(out.filter((l) => /Operation not permitted/.test(l)).length).toBeGreaterThanOrEqual(4);
    expect(out).toContain('environ refused');
    expect(out).toContain('fds refused');
    expect(out.at(-1)).toBe('still here');
    expect(events.some((e) => e.kind === 'policy.violation')).toBe(false);
  });

  it('a task whose sidecar (and with it its relay) dies is stopped with an event, never left running without its network', async () => {
    const h = harness();
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial });
    const runner = new TaskRunner({ engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets') });
    const running = runner.run(specFrom(h.root, 'name: orphan\ncommand: ["sh", "-c", "echo up; sleep 120"]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\n'));
    await waitFor(async () => (lines(h.events).includes('up') ? true : undefined), 'the agent to start');
    const [objects] = (await listTaskObjects(engine)).filter((t) => t.task === h.events[0]!.task);
    const roles = await Promise.all(objects!.containers.map(async (c) => ({ id: c.id, role: (await engine.api.getContainer(c.id).inspect()).Config.Labels['airlock.role'] })));
    await engine.api.getContainer(roles.find((c) => c.role === 'sidecar')!.id).kill();
    const outcome = await running;
    expect(outcome.status).toBe('stopped');
    expect(h.events.find((e) => e.kind === 'policy.violation')).toMatchObject({ data: { rule: 'sidecar.lost', action: 'stop' } });
    expect(h.events.find((e) => e.kind === 'task.stopped')?.data.reason).toMatch(/sidecar ended/);
    expect((await listTaskObjects(engine)).find((t) => t.task === outcome.task)).toBeUndefined();
    await gateway.close();
  });
});

describe('what an agent can make Airlock hold', () => {
  it('connections through the relay are capped: over the cap is a violation, and Airlock keeps serving', async () => {
    const h = harness();
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial });
    const runner = new TaskRunner({ engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets') });
    // 300 sockets held open at once against the proxy port, then closed; then one honest request.
    fs.writeFileSync(path.join(h.root, 'hog.js'), `const net = require('node:net'); const socks = []; let open = 0, closed = 0;
      for (let i = 0; i < 300; i++) { const s = net.connect(3128, '127.0.0.1'); s.on('connect', () => open++); s.on('close', () => closed++); s.on('error', () => {}); socks.push(s); }
      setTimeout(() => { console.log('held ' + open + ', closed by the far end ' + closed); socks.forEach((s) => s.destroy()); }, 3000);`);
    const script = 'node /workspace/in/hog.js; sleep 1; curl -s -o /dev/null -w \'%{http_code}\\n\' http://api.vendor.test/after';
    const outcome = await runner.run(specFrom(h.root, `name: hoarder\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ninputs: [{ from: ./hog.js, to: /workspace/in/hog.js }]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\n`));
    expect(outcome.exitCode).toBe(0);
    const out = lines(h.events);
    const closedByFarEnd = Number(/closed by the far end (\d+)/.exec(out[0]!)?.[1]);
    expect(closedByFarEnd).toBeGreaterThanOrEqual(300 - 128); // everything over the cap was refused at once
    expect(out.at(-1)).toBe('200');
    const violations = h.events.filter((e) => e.kind === 'policy.violation');
    expect(violations).toHaveLength(1);
    expect(violations[0]!.data).toMatchObject({ rule: 'limits.connections' });
    await gateway.close();
  });

  it('the events a task causes are capped: a loop of refused requests cannot fill the audit trail\'s disk', async () => {
    const h = harness();
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial });
    const runner = new TaskRunner({ engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'), eventBudget: 100 });
    const script = 'while true; do curl -s -o /dev/null http://other.test/; done';
    const outcome = await runner.run(specFrom(h.root, `name: spammer\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\nmaxRefusedRequests: 100000\n`));
    expect(outcome.status).toBe('stopped');
    expect(h.events.find((e) => e.kind === 'policy.violation')?.data).toMatchObject({ rule: 'limits.events', action: 'stop' });
    expect(h.events.filter((e) => e.task === outcome.task && e.kind !== 'proc.stdout').length).toBeLessThan(200);
    await gateway.close();
  });

  it('the workspace is capped at resources.disk: writing past it fails inside the sandbox, and that is an event (also when the task ends at once)', async () => {
    const { root, events, runner } = harness();
    const script = 'dd if=/dev/zero of=/workspace/big bs=1M count=100 2>&1 | head -1; df -m /workspace | tail -1 | awk \'{print "size " $2}\'';
    const outcome = await runner.run(specFrom(root, `name: filler\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nresources: { disk: 32m }\n`));
    expect(outcome.exitCode).toBe(0);
    expect(lines(events)[0]).toMatch(/No space left on device/);
    expect(lines(events)[1]).toBe('size 32');
    const limit = events.find((e) => e.kind === 'resource.limit');
    expect(limit?.data).toMatchObject({ resource: 'disk', limitBytes: 32 * 1024 ** 2 });
  });
});

describe('an audit trail that cannot be written', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const dir of mounts) execFileSync('umount', [dir]);
  });

  it('stops the task (nothing runs unrecorded), and the CLI says the events were not recorded', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, 'audit'), { recursive: true });
    // A trail that fills up after a few hundred records.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', path.join(home, 'audit')]);
    mounts.push(path.join(home, 'audit'));
    fs.writeFileSync(path.join(dir, 'agent.yaml'), 'name: chatty\ncommand: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i of many words to fill the trail quickly; done"]\n');
    await runCli(['agents', 'approve', path.join(dir, 'agent.yaml')], { env: { AIRLOCK_HOME: home } });
    const child = spawn(process.execPath, [CLI, 'run', path.join(dir, 'agent.yaml'), '--json'], { env: { ...process.env, AIRLOCK_HOME: home } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(125);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as AirlockEvent);
    expect(events.find((e) => e.kind === 'policy.violation')?.data).toMatchObject({ rule: 'audit.unwritable', action: 'stop' });
    expect(events.find((e) => e.kind === 'task.stopped')?.data.reason).toMatch(/audit trail could not be written.*ENOSPC/);
    expect(stderr).toMatch(/airlock: the audit trail could not be written: .*ENOSPC.* \(\d+ event\(s\) not recorded\)/);
    expect((await listTaskObjects(engine)).find((t) => t.task === events[0]!.task)).toBeUndefined();
  }, 60_000);
});
