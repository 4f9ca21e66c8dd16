import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { AirlockError } from '../../main/core/errors.js';
import { harness, runCli, tempDir, waitFor } from '../helpers/env.js';
import { enginesOf, isAlive, stopEngine, testClient } from '../helpers/engine.js';
import { runInEngine } from '../helpers/engine-task.js';

// The engine killed outright while a real task runs: its clients are told in one line, the task's
// sandbox dies on its own (its sidecar holds its life), and the next client starts a fresh engine
// that records task.aborted for what was lost.

const home = path.join(tempDir(), 'home');
afterAll(async () => {
  await stopEngine(home);
});

describe('the engine killed with SIGKILL mid-task', () => {
  it('its client hears it once, the sandbox is gone within seconds, and the next engine records task.aborted', async () => {
    const start = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } });
    expect(start.code, start.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(start.stdout)?.[1]);
    const client = await testClient(home);
    const lost: string[] = [];
    client.onLost((line) => lost.push(line));
    const { task } = await runInEngine(client, tempDir(), 'name: engine-crash\ncommand: ["sh", "-c", "echo up; sleep 120"]\n');
    const docker = harness().engine;
    const running = async () => ((await listTaskObjects(docker)).find((t) => t.task === task)?.containers ?? []).filter((c) => c.state === 'running');
    expect(await running()).toHaveLength(2);

    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (lost.length > 0 ? true : undefined), 'the client to hear of it', 5_000);
    expect(lost).toEqual([expect.stringMatching(/^airlock: the Airlock engine stopped: .*killed/)]);
    const after = await client.call('tasks.list').then(() => undefined, (error: unknown) => error);
    expect(after).toBeInstanceOf(AirlockError);
    expect(after).toMatchObject({ code: 'engine_unavailable', message: expect.stringMatching(/the next command starts a new one/) });

    // Nobody else acts: the sandbox ends by itself.
    await waitFor(async () => ((await running()).length === 0 ? true : undefined), 'the sandbox to stop on its own', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(isAlive(pid)).toBe(false);

    // The next client starts a fresh engine, which reaps the leftovers and records the loss.
    const next = await runCli(['engine', 'status', '--json'], { env: { AIRLOCK_HOME: home } });
    expect(JSON.parse(next.stdout)).toMatchObject({ running: false });
    const restarted = await runCli(['engine', 'start'], { env: { AIRLOCK_HOME: home } });
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(enginesOf(home)).toHaveLength(1);
    expect(enginesOf(home)[0]).not.toBe(pid);
    const fresh = await testClient(home);
    try {
      const aborted = await waitFor(async () => {
        const page = await fresh.call('audit.query', { task, kinds: ['task.aborted'], limit: 10 });
        return (page.records as AirlockEvent[]).find((r) => r.kind === 'task.aborted');
      }, 'task.aborted in the trail', 20_000);
      expect(aborted.task).toBe(task);
    } finally {
      await fresh.close();
    }
    expect((await listTaskObjects(docker)).find((t) => t.task === task)).toBeUndefined();
  }, 90_000);
});
