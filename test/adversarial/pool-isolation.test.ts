import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { reapLeftovers } from '../../main/core/tasks/reaper.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { lines, REPO, specFrom, tempDir, waitFor } from '../helpers/env.js';
import { objectsOf, pooledAirlock } from '../helpers/pool.js';

/** The names of what a container holds under `folder` (read through the engine: nothing runs in it). */
async function filesIn(container: { getArchive(options: { path: string }): Promise<NodeJS.ReadableStream> }, folder: string): Promise<string[]> {
  const extract = tar.extract();
  (await container.getArchive({ path: folder })).pipe(extract as unknown as NodeJS.WritableStream);
  const names: string[] = [];
  for await (const entry of extract) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names.filter((name) => name.replace(/\/$/, '') !== path.posix.basename(folder));
}

describe('a pooled sandbox against the task before it and the one after', () => {
  let s: ReturnType<typeof pooledAirlock>;
  let gateway: Gateway;
  let runner: TaskRunner;
  const dir = tempDir();
  beforeAll(() => {
    s = pooledAirlock({ pool: { size: 1 } });
    gateway = new Gateway({ bus: s.airlock.bus, clock: systemClock });
    runner = new TaskRunner({ engine: s.airlock.engine(), bus: s.airlock.bus, clock: systemClock, home: s.airlock.home, pool: s.airlock.pool, gateway });
  });
  afterAll(async () => {
    await s.airlock.close();
    await gateway.close();
  });

  it('before a claim a slot holds no environment, input, secret, placeholder or credential; a claim never puts them in its configuration', async () => {
    const [slot] = (await s.ready()) as [string];
    const engine = s.airlock.engine();
    const agent = engine.api.getContainer(`airlock-${slot}`);
    const info = await agent.inspect();
    expect(info.State.Running).toBe(true);
    // The image's own variables and HOME: nothing else.
    const imageEnv = ((await engine.api.getImage(info.Config.Image).inspect()).Config.Env ?? []) as string[];
    expect(info.Config.Env.filter((e) => !imageEnv.includes(e))).toEqual(['HOME=/tmp']);
    expect(info.Mounts.map((m) => m.Destination).sort()).toEqual(['/etc/ssl/certs', '/workspace']);
    expect(await filesIn(agent, '/workspace')).toEqual([]);
    expect(await filesIn(agent, '/tmp')).toEqual([]);
    const processes = ((await agent.top({ ps_args: '-o pid,user,args' })) as { Processes: string[][] }).Processes.map((p) => p.slice(1).join(' '));
    expect(processes.filter((p) => !p.includes('node -e'))).toEqual([expect.stringMatching(/^10001 sh -c .*airlock-launch$/)]); // the launcher, and the sidecar
    const sidecar = await engine.api.getContainer(`airlock-${slot}-sidecar`).inspect();
    expect(sidecar.Config.Env.filter((e) => !imageEnv.includes(e))).toEqual(['HOME=/tmp']);
    expect(JSON.stringify(sidecar.Config.Cmd.at(-1))).not.toMatch(/password|proxy:\/\//i);

    // A networked task with a secret in its environment and a decoy takes it: its proxy
    // credential, variables and placeholder reach the agent, never the container's configuration.
    fs.writeFileSync(path.join(dir, 'in.txt'), 'input of task one\n');
    const controller = new AbortController();
    const first = runner.run(specFrom(dir, [
      'name: first', 'network: { mode: allowlist, allow: [example.test] }', 'env: { SECRET_MARK: "mark-of-task-one" }', 'decoys: { env: [AWS_SECRET_ACCESS_KEY] }',
      'inputs: [{ from: ./in.txt, to: /workspace/in.txt }]',
      'command: ["sh", "-c", "echo $SECRET_MARK > /workspace/task-one-file; echo $AWS_SECRET_ACCESS_KEY > /tmp/task-one-tmp; (sleep 600 &); echo \\"proxy=$HTTPS_PROXY\\"; echo up; sleep 60"]',
    ].join('\n')), { signal: controller.signal });
    await waitFor(async () => (lines(s.events.filter((e) => e.task === slot)).includes('up') ? true : undefined), 'the first task to start');
    const proxy = lines(s.events.filter((e) => e.task === slot)).find((l) => l.startsWith('proxy='))!.slice('proxy='.length);
    expect(proxy).toMatch(/^http:\/\/.+:.+@127\.0\.0\.1:3128$/);
    const claimed = await agent.inspect();
    expect(JSON.stringify(claimed.Config)).not.toContain(proxy.split('@')[0]!.split(':').at(-1)!);
    expect(JSON.stringify(claimed.Config)).not.toContain('mark-of-task-one');
    expect(claimed.Config.Env).toEqual(info.Config.Env);
    controller.abort();
    expect((await first).status).toBe('cancelled');
  });

  it('the next task gets a fresh sandbox: nothing of the last one (files, /tmp, environment, processes), and a pooled proxy port it cannot use', async () => {
    const [first] = s.events.filter((e) => e.kind === 'task.created' && e.agent.name === 'first').map((e) => e.task) as [string];
    expect(await objectsOf(s.airlock, first)).toBeUndefined(); // used once, destroyed with its task
    const [slot] = (await s.ready()) as [string];
    expect(slot).not.toBe(first);
    const outcome = await runner.run(specFrom(dir, [
      'name: second',
      'command: ["sh", "-c", "ls -A /workspace /tmp; env; for p in /proc/[0-9]*; do tr \\"\\\\0\\" \\" \\" < $p/cmdline | head -c 100; echo; done; node -e \\"const s=require(\'net\').connect(3128,\'127.0.0.1\',()=>s.write(\'CONNECT example.test:443 HTTP/1.1\\\\r\\\\n\\\\r\\\\n\'));let got=\'\';s.on(\'data\',d=>got+=d);s.on(\'error\',()=>{});s.on(\'close\',()=>console.log(\'relay:\'+JSON.stringify(got)))\\""]',
    ].join('\n')));
    expect(outcome).toMatchObject({ task: slot, status: 'exited', exitCode: 0 });
    const seen = lines(s.events.filter((e) => e.task === slot));
    const text = seen.join('\n');
    if (process.env.SHOW) console.log(text);
    expect(seen.slice(0, 2)).toEqual(['/tmp:', '/workspace:']); // it did list them: both empty
    expect(text).not.toMatch(/task-one|in\.txt|sleep 600|HTTPS?_PROXY|AWS_SECRET/);
    expect(seen).toContain('relay:""'); // the connection to the slot's proxy port is closed unanswered
    expect(s.events.some((e) => e.task === slot && e.kind.startsWith('net.'))).toBe(false);
    const started = (task: string) => s.events.find((e) => e.task === task && e.kind === 'task.started')?.data.containers as string[];
    expect(started(slot).some((id) => started(first).includes(id))).toBe(false);
    expect(s.events.find((e) => e.task === slot && e.kind === 'task.created')?.data.pool).toMatchObject({ slot });
  });
});

describe('the slots of an engine that dies', () => {
  const home = path.join(tempDir(), 'home');
  const bus = new EventBus(systemClock);
  const events: AirlockEvent[] = [];
  bus.subscribe((e) => events.push(e));
  let child: ChildProcess;
  let slot: string;
  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/adversarial/pool-engine-child.ts'), home], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    slot = await waitFor(async () => /ready (\S+)/.exec(out)?.[1], 'the engine\'s pool slot', 60_000);
  });
  afterAll(() => {
    child.kill('SIGKILL');
  });

  it('carry Airlock\'s labels and are vouched for by the trail, yet are no task while it lives (ps)', async () => {
    const engine = (await import('../../main/core/engine/engine.js')).Engine.connect();
    const outcome = await reapLeftovers(engine, bus, path.join(home, 'audit'));
    expect(outcome.reaped).toEqual([]);
    expect(outcome.leftAlone.filter((f) => f.claimedTask === slot)).toEqual([]); // vouched: not a forged claim
    expect(outcome.remaining?.map((t) => t.task)).not.toContain(slot); // what `ps` lists
    const running = await engine.api.listContainers({ filters: { label: [`airlock.task=${slot}`] } });
    expect(running.map((c) => c.Labels['airlock.owner']?.split(':')[1])).toEqual([String(child.pid), String(child.pid)]);
  });

  it('die with the engine (their sidecar\'s lifeline) and are reaped like any leftover', async () => {
    const engine = (await import('../../main/core/engine/engine.js')).Engine.connect();
    child.kill('SIGKILL');
    await waitFor(async () => {
      const states = await engine.api.listContainers({ all: true, filters: { label: [`airlock.task=${slot}`] } });
      return states.every((c) => c.State !== 'running') ? true : undefined;
    }, 'the slot\'s processes to die with the engine');
    const outcome = await reapLeftovers(engine, bus, path.join(home, 'audit'));
    expect(outcome.reaped.find((r) => r.task === slot)?.removed.volumes).toBe(2);
    expect(events.find((e) => e.task === slot && e.kind === 'pool.discarded')?.data.reason).toMatch(/process that prepared it is gone/);
    expect((await engine.api.listContainers({ all: true, filters: { label: [`airlock.task=${slot}`] } })).length).toBe(0);
    expect((await engine.api.listVolumes({ filters: { label: [`airlock.task=${slot}`] } })).Volumes).toEqual([]);
  });
});
