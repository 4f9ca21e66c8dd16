/**
 * The CLI as a client of the engine, across processes: what one `airlock` starts, another stops
 * or resumes (in-process mode: through the task's containers and AIRLOCK_HOME, the core's
 * fallback for a task its engine does not run); and what --detach does where no engine runs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../main/core/engine/engine.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { approve, CLI, runCli, tempDir, waitFor } from '../helpers/env.js';

describe('the CLI through the engine', () => {
  it('a task frozen by a violation is resumed by a second airlock and stopped by a third; the first exits 130', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const env = { AIRLOCK_HOME: home };
    const file = path.join(dir, 'freezer.yaml');
    const probe = "for i in 1 2; do curl -s -o /dev/null -w '%{http_code} ' http://other.test/$i; done; echo; echo probed; sleep 60";
    fs.writeFileSync(file, `name: freezer\ncommand: ["sh", "-c", ${JSON.stringify(probe)}]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }\nmaxRefusedRequests: 1\nonViolation: freeze\n`);
    approve(file, home);
    const first = spawn(process.execPath, [CLI, 'run', file, '--json'], { env: { ...process.env, ...env } });
    let output = '';
    first.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => first.on('close', resolve));
    try {
      await waitFor(async () => (output.includes('"kind":"task.frozen"') ? true : undefined), 'the task to freeze');
      const task = (JSON.parse(output.split('\n')[0]!) as { task: string }).task;

      const resumed = await runCli(['resume', task], { env });
      expect(resumed).toMatchObject({ code: 0, stdout: `asked to resume ${task}\n` });
      await waitFor(async () => (output.includes('"kind":"task.resumed"') ? true : undefined), 'the first airlock to resume it');

      const stopped = await runCli(['stop', task], { env });
      expect(stopped).toMatchObject({ code: 0, stdout: `stopped ${task}\n` });
      expect(await exited).toBe(130);
      expect(output).toContain('"kind":"task.cancelled"');
      expect((await listTaskObjects(Engine.connect())).filter((o) => o.task === task)).toEqual([]);
      // A task nobody runs: refused, naming it.
      const gone = await runCli(['resume', task], { env });
      expect(gone.code).toBe(125);
      expect(gone.stderr).toMatch(new RegExp(`no running task ${task}`));
    } finally {
      if (first.exitCode === null) first.kill('SIGTERM'); // a failed check leaves no task behind
      await exited;
    }
  });

  it('--detach where no engine runs (in-process mode) is refused before anything starts: the task would end with the command', async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(file, 'name: detacher\ncommand: ["sh", "-c", "sleep 60"]\nnetwork: { mode: none }\n');
    approve(file, home);
    const result = await runCli(['run', file, '--detach'], { env: { AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess' } });
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/--detach needs the Airlock engine/);
    expect(fs.existsSync(path.join(home, 'audit'))).toBe(false);
  });

  it('refuses bad run flags at the CLI\'s edge, naming the flag, before the engine is asked anything', async () => {
    const home = path.join(tempDir(), 'home');
    for (const [flags, message] of [
      [['--timeout', 'soon'], /--timeout: 'soon' is not a duration/],
      [['--memory', 'lots'], /--memory: 'lots' is not a size/],
      [['--net', 'everything'], /--net: 'everything' is not none, open or allow:/],
      [['--cpus', '0'], /--cpus: '0' is not a positive number/],
    ] as [string[], RegExp][]) {
      const result = await runCli(['run', 'demo', ...flags], { env: { AIRLOCK_HOME: home } });
      expect(result.code).toBe(125);
      expect(result.stderr).toMatch(message);
    }
    expect(fs.existsSync(path.join(home, 'audit'))).toBe(false);
  });
});
