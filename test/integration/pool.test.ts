import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { lines, specFrom, tempDir, waitFor } from '../helpers/env.js';
import { objectsOf, pooledAirlock } from '../helpers/pool.js';

const MAX_AGE_MS = 60_000;

describe('the warm pool', () => {
  const clock = new FakeClock();
  let s: ReturnType<typeof pooledAirlock>;
  const dir = tempDir();
  let firstSlot: string;

  beforeAll(async () => {
    s = pooledAirlock({ clock, pool: { size: 1, maxAgeMs: MAX_AGE_MS } });
    [firstSlot] = (await s.ready()) as [string];
  });
  afterAll(async () => {
    await s.airlock.close();
  });

  it('a task whose spec it does not fit (other limits) makes its own sandbox and leaves the slot alone', async () => {
    const outcome = await s.runner.run(specFrom(dir, 'name: big\ncommand: ["sh", "-c", "echo cold"]\nresources: { memory: 256m }\n'));
    expect(outcome).toMatchObject({ status: 'exited', exitCode: 0 });
    expect(outcome.task).not.toBe(firstSlot);
    expect(s.events.find((e) => e.task === outcome.task && e.kind === 'task.created')?.data.pool).toBeUndefined();
    expect(s.airlock.pool.state()).toEqual({ size: 1, ready: 1, filling: 0 });
    expect(s.events.some((e) => e.kind === 'pool.claimed')).toBe(false);
  });

  it('a task that fits takes the prepared sandbox (command, env, inputs) and the pool is refilled', async () => {
    fs.writeFileSync(`${dir}/in.txt`, 'input\n');
    const spec = specFrom(dir, 'name: fits\ncommand: ["sh", "-c", "echo \\"$GREETING\\" \\"$1\\"; cat /workspace/in.txt; pwd", "arg0", "two words"]\nenv: { GREETING: "hi\\n" }\ninputs: [{ from: ./in.txt, to: /workspace/in.txt }]\n');
    const outcome = await s.runner.run(spec);
    expect(outcome).toMatchObject({ task: firstSlot, status: 'exited', exitCode: 0 });
    expect(lines(s.events.filter((e) => e.task === firstSlot))).toEqual(['hi', ' two words', 'input', '/workspace']);
    const kinds = s.events.filter((e) => e.task === firstSlot).map((e) => e.kind);
    expect(kinds.slice(0, 4)).toEqual(['pool.prepared', 'pool.claimed', 'task.created', 'fs.input']);
    expect(kinds.at(-1)).toBe('task.destroyed');
    expect(s.events.find((e) => e.task === firstSlot && e.kind === 'task.created')?.data.pool).toMatchObject({ slot: firstSlot });
    expect(s.events.find((e) => e.task === firstSlot && e.kind === 'task.destroyed')?.data.removed).toEqual({ containers: 2, volumes: 2 });
    expect(await objectsOf(s.airlock, firstSlot)).toBeUndefined();
    const [refilled] = await s.ready();
    expect(refilled).not.toBe(firstSlot);
  });

  it('the run use case the app and the engine serve (AirlockService) takes a slot too', async () => {
    const [slot] = (await s.ready()) as [string];
    const file = `${tempDir()}/agent.yaml`;
    fs.writeFileSync(file, 'name: served\ncommand: ["echo", "served"]\n');
    const { id } = s.airlock.service.openAgent(file);
    await s.airlock.service.approveAgent(id);
    const { task } = await s.airlock.service.run({ agentId: id });
    expect(task).toBe(slot);
    await waitFor(async () => (s.events.some((e) => e.task === task && e.kind === 'task.destroyed') ? true : undefined), 'the served task to end');
    expect(lines(s.events.filter((e) => e.task === task))).toEqual(['served']);
  });

  it('a slot older than the maximum age is destroyed and replaced (fake clock)', async () => {
    const [old] = (await s.ready()) as [string];
    clock.advance(MAX_AGE_MS);
    await waitFor(async () => (s.events.some((e) => e.task === old && e.kind === 'pool.discarded') ? true : undefined), 'the old slot discarded');
    expect(s.events.find((e) => e.task === old && e.kind === 'pool.discarded')?.data.reason).toMatch(/maximum age/);
    expect(await objectsOf(s.airlock, old)).toBeUndefined();
    const [fresh] = await s.ready();
    expect(fresh).not.toBe(old);
  });

  it('close destroys the ready slots and prepares no more', async () => {
    const [last] = (await s.ready()) as [string];
    await s.airlock.close();
    expect(s.airlock.pool.state()).toEqual({ size: 1, ready: 0, filling: 0 });
    expect(s.events.find((e) => e.task === last && e.kind === 'pool.discarded')?.data.reason).toMatch(/closing/);
    expect(await objectsOf(s.airlock, last)).toBeUndefined();
  });
});
