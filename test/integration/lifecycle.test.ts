import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { approve, harness, lines, runCli, specFrom, startCliRun, tempDir, waitFor } from '../helpers/env.js';

async function leftoversOf(engine: ReturnType<typeof harness>['engine'], task: string) {
  return (await listTaskObjects(engine)).find((t) => t.task === task);
}

describe('task lifecycle', () => {
  it('passes the agent\'s exit code through and leaves nothing on the engine', async () => {
    const { root, events, engine, runner } = harness();
    const outcome = await runner.run(specFrom(root, 'name: exit7\ncommand: ["sh", "-c", "echo bye; exit 7"]\n'));
    expect(outcome).toMatchObject({ status: 'exited', exitCode: 7, oomKilled: false });
    expect(lines(events)).toEqual(['bye']);
    expect(events.map((e) => e.kind)).toEqual(['task.created', 'task.started', 'proc.stdout', 'task.exited', 'task.destroyed']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events.every((e) => e.task === outcome.task && e.agent.name === 'exit7' && e.agent.digest.startsWith('sha256:'))).toBe(true);
    expect(await leftoversOf(engine, outcome.task)).toBeUndefined();
  });

  it('stops a task at its timeout, tears it down and reports it', async () => {
    const { root, events, engine, runner } = harness();
    const started = Date.now();
    const outcome = await runner.run(specFrom(root, 'name: sleeper\ncommand: ["sleep", "60"]\ntimeout: 2s\n'));
    expect(outcome.status).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(events.some((e) => e.kind === 'task.timeout' && e.data.timeoutMs === 2000)).toBe(true);
    expect(events.at(-1)?.kind).toBe('task.destroyed');
    expect(await leftoversOf(engine, outcome.task)).toBeUndefined();
  });

  it('cancel tears the sandbox down', async () => {
    const { root, events, engine, runner } = harness();
    const controller = new AbortController();
    const running = runner.run(specFrom(root, 'name: sleeper\ncommand: ["sh", "-c", "echo up; sleep 60"]\n'), { signal: controller.signal });
    await waitFor(async () => (lines(events).includes('up') ? true : undefined), 'the agent to start');
    controller.abort();
    const outcome = await running;
    expect(outcome.status).toBe('cancelled');
    expect(events.some((e) => e.kind === 'task.cancelled' && e.actor === 'user')).toBe(true);
    expect(await leftoversOf(engine, outcome.task)).toBeUndefined();
  });

  it('a command missing from the image is refused naming the field and the program, leaving nothing', async () => {
    const { root, events, engine, runner } = harness();
    await expect(runner.run(specFrom(root, 'name: typo\ncommand: ["no-such-program"]\n'))).rejects.toMatchObject({
      code: 'bad_manifest', message: expect.stringMatching(/^command: the engine could not start \["no-such-program"\].*not found/),
    });
    const task = events[0]!.task;
    expect(events.find((e) => e.kind === 'task.aborted')?.data.code).toBe('bad_manifest');
    expect(await leftoversOf(engine, task)).toBeUndefined();
  });
});

describe('the airlock CLI', () => {
  it('Ctrl-C stops the task, exits 130 and leaves nothing behind', async () => {
    const dir = tempDir();
    const run = await startCliRun(dir, 'name: sleeper\ncommand: ["sh", "-c", "echo up; sleep 60"]\n', path.join(dir, 'home'));
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.output()).toContain('"kind":"task.cancelled"');
    expect(await leftoversOf(harness().engine, run.task)).toBeUndefined();
  });

  it('a CLI killed with SIGKILL mid-task: the engine stops the task it started (never orphaned), as Ctrl-C would', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const run = await startCliRun(dir, 'name: attached\ncommand: ["sh", "-c", "echo up; sleep 120"]\n', home);
    run.child.kill('SIGKILL');
    await run.exited;
    const { engine } = harness();
    await waitFor(async () => ((await leftoversOf(engine, run.task)) === undefined ? true : undefined), 'the engine to stop the task of a client that went', 15_000);
    const logged = await runCli(['log', run.task, '--json'], { env: { AIRLOCK_HOME: home } });
    const kinds = logged.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind);
    expect(kinds).toEqual(expect.arrayContaining(['task.started', 'task.cancelled', 'task.destroyed']));
    expect(kinds.at(-1)).toBe('task.destroyed');
    expect((await runCli(['engine', 'stop'], { env: { AIRLOCK_HOME: home } })).code).toBe(0);
  });

  it('in-process mode: a CLI killed with SIGKILL mid-task is cleaned up by the next start, which records task.aborted', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const inprocess = { AIRLOCK_ENGINE: 'inprocess' };
    const run = await startCliRun(dir, 'name: orphan\ncommand: ["sh", "-c", "echo up; sleep 120"]\n', home, inprocess);
    run.child.kill('SIGKILL');
    await run.exited;
    const { engine } = harness();
    expect(await leftoversOf(engine, run.task)).toBeDefined();

    const ps = await runCli(['ps'], { env: { AIRLOCK_HOME: home, ...inprocess } }); // any start reaps
    expect(ps.code).toBe(0);
    expect(await leftoversOf(engine, run.task)).toBeUndefined();
    const logged = await runCli(['log', run.task, '--json'], { env: { AIRLOCK_HOME: home, ...inprocess } });
    const events = logged.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ kind: 'task.created', task: run.task });
    expect(events.at(-1)).toMatchObject({ kind: 'task.aborted', actor: 'airlock', data: { removed: { containers: 1, volumes: 1 } } });
  });

  it('airlock stop <task> from another process cancels the run, which exits 130', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const run = await startCliRun(dir, 'name: stoppable\ncommand: ["sh", "-c", "echo up; sleep 60"]\n', home);
    const listed = await runCli(['ps'], { env: { AIRLOCK_HOME: home } });
    expect(listed.stdout).toContain(run.task);
    const stopped = await runCli(['stop', run.task], { env: { AIRLOCK_HOME: home } });
    expect(stopped.code).toBe(0);
    expect(await run.exited).toBe(130);
    expect(run.output()).toContain('"kind":"task.cancelled"');
    expect(await leftoversOf(harness().engine, run.task)).toBeUndefined();
  });

  it('an unreachable engine is one line and exit 125, not a stack', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    fs.writeFileSync(path.join(dir, 'agent.yaml'), 'name: unreachable\ncommand: ["true"]\n');
    approve(path.join(dir, 'agent.yaml'), home);
    const result = await runCli(['run', path.join(dir, 'agent.yaml')], { env: { AIRLOCK_HOME: home, DOCKER_HOST: `unix://${dir}/no-engine.sock` } });
    expect(result.code).toBe(125);
    const [first, second, ...rest] = result.stderr.trim().split('\n');
    expect(first).toMatch(/^airlock: cannot reach the Docker engine at unix:\/\/.*no-engine\.sock/);
    expect(second).toMatch(/fix: start Docker/);
    expect(rest).toEqual([]);
  });

  it.each([
    ['an unknown field', 'name: x\ncommand: [sh]\ncomand: [sh]\n', /comand: unknown field/],
    ['a wrong type', 'name: x\ncommand: sh\n', /command: /],
    ['a bad duration', 'name: x\ncommand: [sh]\ntimeout: soon\n', /timeout: must be a duration/],
    ['a bad size', 'name: x\ncommand: [sh]\nresources: { memory: lots }\n', /resources\.memory: must be a size/],
    ['a bad name', 'name: Bad_Name\ncommand: [sh]\n', /name: must be/],
    ['privileged', 'name: x\ncommand: [sh]\nprivileged: true\n', /privileged: refused/],
    ['added capabilities', 'name: x\ncommand: [sh]\ncap_add: [NET_ADMIN]\n', /cap_add: refused/],
    ['a host path mount', 'name: x\ncommand: [sh]\nvolumes: ["/:/host"]\n', /volumes: refused/],
    ['the host network', 'name: x\ncommand: [sh]\nnetwork: { mode: host }\n', /network\.mode: refused/],
    ['the Docker socket as input', 'name: x\ncommand: [sh]\ninputs: [{ from: /var/run/docker.sock, to: /workspace/in }]\n', /inputs\[0\]: from: .*docker\.sock is not a file or folder/],
    ['an output outside the workspace', 'name: x\ncommand: [sh]\noutputs: [/etc]\n', /outputs\[0\]: \/etc is not inside the workspace/],
  ])('refuses a manifest with %s: exit 125, the field named, nothing created', async (_what, yaml, message) => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'agent.yaml'), yaml);
    const result = await runCli(['run', path.join(dir, 'agent.yaml')], { env: { AIRLOCK_HOME: path.join(dir, 'home') } });
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toContain('task.created');
  });
});
