/**
 * `airlock run … 2>&1 | head`: the reader of the CLI's output goes away while the task runs. The
 * task must still run to its end and be torn down, and the process must exit then — not spin on
 * a closed standard error (an unhandled EPIPE there became an uncaught exception whose every
 * report was another write to the closed pipe: the process burned a CPU for as long as it lived,
 * and its sandbox stayed up until the deadline).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../main/core/engine/engine.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { approve, CLI, tempDir } from '../helpers/env.js';

describe('the CLI when its reader goes away', () => {
  it('with standard output and error closed mid-task, the task still ends and is torn down, and the CLI exits', async () => {
    const dir = tempDir('airlock-closed-pipes-');
    const home = path.join(dir, 'home');
    const manifest = path.join(dir, 'agent.yaml');
    // After the reader is gone the agent keeps asking for hosts outside its allowlist: each ask
    // makes the CLI write to its own standard error (no terminal to ask: denied), then it exits.
    const asks = 'for i in $(seq 1 20); do curl -s -o /dev/null http://ask$i.other.test/; echo out $i; echo err $i >&2; sleep 0.1; done';
    fs.writeFileSync(manifest, `name: chatty\ncommand: ["sh", "-c", ${JSON.stringify(`sleep 1; ${asks}`)}]\nnetwork: { mode: allowlist, allow: [nothing.test], onUnknownHost: ask }\n`);
    approve(manifest, home);
    const child = spawn(process.execPath, [CLI, 'run', manifest], { env: { ...process.env, AIRLOCK_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let task: string | undefined;
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => {
      task ??= /t_[0-9a-z]{26}/.exec(d.toString())?.[0];
      if (task) resolve();
    }));
    // The reader goes away: both pipes closed (as `2>&1 | head` does when head exits).
    child.stdout.destroy();
    child.stderr.destroy();
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const code = await Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 30_000))]);
    if (code === 'still running') child.kill('SIGKILL'); // never leave a spinning process behind
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await listTaskObjects(Engine.connect())).filter((t) => t.task === task)).toEqual([]);
  }, 60_000);
});
