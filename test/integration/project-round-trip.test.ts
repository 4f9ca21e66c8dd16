// The whole of issue 16's core, as a developer meets it: a real git repository with uncommitted work,
// an agent that edits, adds, deletes and commits in its copy, then `airlock diff` and `airlock apply`
// through the CLI. The user's folder is untouched until apply; then it holds the agent's change,
// with the user's own uncommitted work kept and the branch and index as they were.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { approve, runCli, tempDir } from '../helpers/env.js';

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t.test', ...args], { encoding: 'utf8' });

describe('a project in, its change out', () => {
  it('run --project, diff, apply: the agent\'s edits land in the working tree, the user\'s own uncommitted work and branch are kept', { timeout: 120_000 }, async () => {
    const dir = tempDir('airlock-roundtrip-');
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(repo, 'app.txt'), 'one\ntwo\nthree\n');
    fs.writeFileSync(path.join(repo, 'old.txt'), 'to be deleted\n');
    fs.writeFileSync(path.join(repo, 'notes.txt'), 'mine\n');
    fs.writeFileSync(path.join(repo, '.gitignore'), '.env\n');
    fs.writeFileSync(path.join(repo, '.env'), 'TOKEN=never-copied\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'start');
    fs.writeFileSync(path.join(repo, 'notes.txt'), 'mine, edited and not committed\n'); // the user's own work in progress
    const head = git(repo, 'rev-parse', 'HEAD').trim();

    const home = path.join(dir, 'home');
    const manifest = path.join(dir, 'editor.yaml');
    fs.writeFileSync(manifest, [
      'name: editor',
      'project: {}',
      'command: ["sh", "-c", "test ! -e .env && sed -i s/two/TWO/ app.txt && echo new > added.txt && rm old.txt && git -c user.name=a -c user.email=a@a.test commit -qam agent && echo edited"]',
      '',
    ].join('\n'));
    approve(manifest, home);
    const env = { AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess' };

    const run = await runCli(['run', manifest, '--project', repo, '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { task: string; kind: string; data: Record<string, unknown> });
    const task = events[0]!.task;
    expect(events.some((e) => e.kind === 'proc.stdout' && String(e.data.line) === 'edited')).toBe(true);
    const changes = events.find((e) => e.kind === 'task.changes');
    expect(changes?.data).toMatchObject({ files: 3 });
    // Until apply, the user's folder is as it was.
    expect(fs.readFileSync(path.join(repo, 'app.txt'), 'utf8')).toBe('one\ntwo\nthree\n');
    expect(fs.existsSync(path.join(repo, 'added.txt'))).toBe(false);

    const stat = await runCli(['diff', task, '--stat'], { env });
    expect(stat.code, stat.stderr).toBe(0);
    expect(stat.stdout).toMatch(/app\.txt/);
    expect(stat.stdout).toMatch(/added\.txt/);
    expect(stat.stdout).toMatch(/old\.txt/);

    const applied = await runCli(['apply', task], { env });
    expect(applied.code, applied.stderr).toBe(0);
    expect(fs.readFileSync(path.join(repo, 'app.txt'), 'utf8')).toBe('one\nTWO\nthree\n');
    expect(fs.readFileSync(path.join(repo, 'added.txt'), 'utf8')).toBe('new\n');
    expect(fs.existsSync(path.join(repo, 'old.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(repo, 'notes.txt'), 'utf8')).toBe('mine, edited and not committed\n');
    expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
  });
});
