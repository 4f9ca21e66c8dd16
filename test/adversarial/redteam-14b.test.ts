import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { lines, specFrom, tempDir, waitFor } from '../helpers/env.js';
import { objectsOf, pooledAirlock } from '../helpers/pool.js';

/** What of a container's configuration makes its hardening and network, without what names one task. */
function hardening(info: { Config: Record<string, unknown>; HostConfig: Record<string, unknown>; Mounts: { Destination: string; RW: boolean; Type: string }[] }) {
  const { Config: c, HostConfig: h } = info;
  return {
    user: c.User, workdir: c.WorkingDir, image: c.Image,
    host: { ...h, NetworkMode: String(h.NetworkMode).replace(/[0-9a-f]{64}/, 'SIDECAR'), PidMode: String(h.PidMode).replace(/[0-9a-f]{64}/, 'SIDECAR'), Mounts: undefined },
    mounts: info.Mounts.map((m) => `${m.Destination} ${m.Type} ${m.RW ? 'rw' : 'ro'}`).sort(),
  };
}

describe('a pooled task beside a cold one (red team, second pass)', () => {
  let s: ReturnType<typeof pooledAirlock>;
  let gateway: Gateway;
  let pooledRunner: TaskRunner;
  let coldRunner: TaskRunner;
  const dir = tempDir();
  beforeAll(() => {
    s = pooledAirlock({ pool: { size: 1 } });
    gateway = new Gateway({ bus: s.airlock.bus, clock: systemClock });
    const deps = { engine: s.airlock.engine(), bus: s.airlock.bus, clock: systemClock, home: s.airlock.home, gateway };
    pooledRunner = new TaskRunner({ ...deps, pool: s.airlock.pool });
    coldRunner = new TaskRunner(deps);
  });
  afterAll(async () => {
    await s.airlock.close();
    await gateway.close();
  });

  it('gets exactly the hardening, limits, mounts and network of a cold task of the same manifest', async () => {
    const [slot] = (await s.ready()) as [string];
    const yaml = (name: string) => [`name: ${name}`, 'network: { mode: allowlist, allow: [example.test] }', 'command: ["sh", "-c", "touch /etc/ssl/certs/x && echo WROTE; echo up; sleep 60"]'].join('\n');
    const stop = new AbortController();
    const pooled = pooledRunner.run(specFrom(dir, yaml('pooled')), { signal: stop.signal });
    const cold = coldRunner.run(specFrom(dir, yaml('cold')), { signal: stop.signal });
    const started = (name: string) => waitFor(async () => {
      const created = s.events.find((e) => e.kind === 'task.created' && e.agent.name === name);
      return created && lines(s.events.filter((e) => e.task === created.task)).includes('up') ? created.task : undefined;
    }, `${name} to start`);
    const [pooledTask, coldTask] = await Promise.all([started('pooled'), started('cold')]);
    expect(pooledTask).toBe(slot);
    const engine = s.airlock.engine();
    const inspect = async (task: string) => ({
      agent: await engine.api.getContainer(`airlock-${task}`).inspect(),
      sidecar: await engine.api.getContainer(`airlock-${task}-sidecar`).inspect(),
    });
    const [p, c] = await Promise.all([inspect(pooledTask), inspect(coldTask)]);
    stop.abort();
    await Promise.all([pooled, cold]);
    expect(hardening(p.sidecar as never)).toEqual(hardening(c.sidecar as never));
    // One difference: a slot always has the certs volume (a task may yet trust a CA of its own). It is the image's, root's: the agent cannot write it.
    const pooledAgent = hardening(p.agent as never);
    expect(pooledAgent.mounts).toEqual(['/etc/ssl/certs volume rw', '/workspace volume rw']);
    expect({ ...pooledAgent, mounts: ['/workspace volume rw'] }).toEqual(hardening(c.agent as never));
    expect(lines(s.events.filter((e) => e.task === pooledTask), 'proc.stderr').join('\n')).toMatch(/cannot touch '\/etc\/ssl\/certs\/x': Permission denied/);
    expect(lines(s.events.filter((e) => e.task === pooledTask))).not.toContain('WROTE');
    expect(hardening(p.sidecar as never)).toEqual(hardening(c.sidecar as never));
  });

  it('never runs an image older than the one its name points to now: a slot made before the image changed is discarded, the task runs the new one', async () => {
    // A shape of our own image name (the shared base image is left alone): first the base image as it is…
    const image = `airlock-red2-stale:${process.pid}`;
    execFileSync('docker', ['tag', 'airlock/agent-base:1', image]);
    const t = pooledAirlock({ pool: { size: 1, shape: { image, workdir: '/workspace', limits: { cpus: 1, memoryBytes: 512 * 1024 * 1024, pids: 256, diskBytes: 1024 * 1024 * 1024 } } } });
    try {
      const [slot] = (await t.ready()) as [string];
      // …then the name is moved to a rebuilt image (a fix, a removed tool) while the slot waits.
      execFileSync('docker', ['build', '-q', '-t', image, '-'], { input: 'FROM airlock/agent-base:1\nUSER root\nRUN echo rebuilt > /rebuilt\nUSER 10001\n' });
      const runner = new TaskRunner({ engine: t.airlock.engine(), bus: t.airlock.bus, clock: systemClock, home: t.airlock.home, pool: t.airlock.pool });
      const outcome = await runner.run(specFrom(dir, [`name: stale`, `image: ${image}`, 'command: ["sh", "-c", "cat /rebuilt || echo OLD-IMAGE"]'].join('\n')));
      expect(outcome).toMatchObject({ status: 'exited', exitCode: 0 });
      const seen = lines(t.events.filter((e) => e.task === outcome.task));
      expect(seen).toEqual(['rebuilt']);
      expect(outcome.task).toBe(slot); // the id its client was told stays the task's
      expect(t.events.find((e) => e.task === slot && e.kind === 'pool.discarded')?.data.reason).toMatch(/image .* changed/);
      expect(t.events.find((e) => e.task === slot && e.kind === 'task.created')?.data.pool).toBeUndefined(); // a sandbox of its own
      expect(t.events.find((e) => e.task === slot && e.kind === 'task.destroyed')?.data.removed).toEqual({ containers: 2, volumes: 1 });
      expect(await objectsOf(t.airlock, slot)).toBeUndefined(); // nothing of the stale slot or the task left
    } finally {
      await t.airlock.close();
      execFileSync('docker', ['rmi', '-f', image]);
    }
  });
});
