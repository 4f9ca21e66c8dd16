// While a task with a project runs, `airlock diff` from another terminal (the same engine) shows what
// its agent has changed so far; once it ends, the stored change is the final one.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { approve, CLI, runCli, tempDir, TEST_ENGINE_ENV, waitFor } from '../helpers/env.js';

function changedFiles(stdout: string): string[] {
  return (JSON.parse(stdout) as { files: { path: string }[] }).files.map((f) => f.path).sort();
}

describe('airlock diff while the task runs', () => {
  it('shows the agent\'s change so far, then the final change once it ends', { timeout: 120_000 }, async () => {
    const dir = tempDir('airlock-live-diff-');
    const project = path.join(dir, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'a.txt'), 'first\n');
    const home = path.join(dir, 'home');
    const manifest = path.join(dir, 'agent.yaml');
    fs.writeFileSync(manifest, [
      'name: live-editor',
      'project: {}',
      'command: ["sh", "-c", "echo second >> a.txt; echo up; sleep 60"]',
      'timeout: 1m',
      '',
    ].join('\n'));
    approve(manifest, home);
    const env = { ...TEST_ENGINE_ENV, AIRLOCK_HOME: home };
    const child = spawn(process.execPath, [CLI, 'run', manifest, '--project', project, '--json'], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(async () => (out.includes('"line":"up"') ? true : undefined), 'the agent to start');
    const task = (JSON.parse(out.split('\n')[0]!) as { task: string }).task;

    const live = await runCli(['diff', task, '--json'], { env });
    expect(live.code, live.stderr).toBe(0);
    expect(changedFiles(live.stdout)).toEqual(['a.txt']);

    // Stopped from another terminal: its change is collected at its end all the same, and kept.
    const stopped = await runCli(['stop', task], { env });
    expect(stopped.code, stopped.stderr).toBe(0);
    await exited;
    const final = await runCli(['diff', task, '--stat'], { env });
    expect(final.code, final.stderr).toBe(0);
    expect(final.stdout).toMatch(/a\.txt/);
    expect(out).toMatch(/"kind":"task\.changes"/);
  });
});
