// A git project's change comes back as a branch `airlock/<task>` in the user's repository: the
// agent's commits plus a commit of its uncommitted work, fetched as refs only. The agent controls
// its `.git` entirely, so here it plants what would run code if any git honoured it — a hook, an
// fsmonitor, a clean filter, a packed-refs ref at a missing object — each aimed at a host file.
// Nothing of it runs (not on the host, not in the bundling container), the branch holds exactly
// the agent's work, and the user's HEAD, index and working tree are as they were.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { approve, runCli, tempDir } from '../helpers/env.js';

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t.test', ...args], { encoding: 'utf8' });

describe('the change as a branch, from a hostile .git', () => {
  it('fetches airlock/<task> with the agent\'s commit and a WIP commit; no planted hook, fsmonitor or filter runs; the user\'s repo is untouched', { timeout: 120_000 }, async () => {
    const dir = tempDir('airlock-branch-');
    const repo = path.join(dir, 'repo');
    const marker = path.join(dir, 'ran');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(repo, 'app.txt'), 'one\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'start');
    fs.writeFileSync(path.join(repo, 'mine.txt'), 'the user\'s own work in progress\n');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const indexBefore = fs.readFileSync(path.join(repo, '.git', 'index'));

    const plant = [
      'set -e',
      'git -c user.name=a -c user.email=a@a.test commit -q --allow-empty -m "agent commit"',
      'echo two >> app.txt',
      `mkdir -p .git/hooks; printf '#!/bin/sh\\ntouch ${marker}\\n' > .git/hooks/pre-commit; cp .git/hooks/pre-commit .git/hooks/post-commit; cp .git/hooks/pre-commit .git/hooks/reference-transaction; chmod +x .git/hooks/*`,
      `git config core.fsmonitor "touch ${marker}; echo"`,
      `git config filter.evil.clean "sed s/two/PWNED/; touch ${marker}"`,
      'echo "*.txt filter=evil" > .gitattributes',
      `git config core.hooksPath .git/hooks`,
      'echo "0123456789012345678901234567890123456789 refs/heads/elsewhere" >> .git/packed-refs',
      'echo planted',
    ].join(' && ');
    const manifest = path.join(dir, 'hostile.yaml');
    fs.writeFileSync(manifest, ['name: hostile', 'project: {}', `command: ["sh", "-c", ${JSON.stringify(plant)}]`, ''].join('\n'));
    const home = path.join(dir, 'home');
    approve(manifest, home);
    const run = await runCli(['run', manifest, '--project', repo, '--json'], { env: { AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess' } });
    expect(run.code, run.stderr + run.stdout.slice(-3000)).toBe(0);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { task: string; kind: string; data: Record<string, unknown> });
    expect(events.some((e) => e.kind === 'proc.stdout' && e.data.line === 'planted')).toBe(true);
    const task = events[0]!.task;
    const changes = events.find((e) => e.kind === 'task.changes');
    expect(changes?.data.branch).toBe(`airlock/${task}`);

    // The branch: base <- the agent's commit <- its uncommitted work, content as the agent left it.
    const branch = `airlock/${task}`;
    expect(git(repo, 'log', '--format=%s', `${head}..${branch}`).trim().split('\n')).toEqual([`airlock: uncommitted work of task ${task}`, 'agent commit']);
    expect(git(repo, 'show', `${branch}:app.txt`)).toBe('one\ntwo\n');
    expect(git(repo, 'show', `${branch}:.gitattributes`)).toBe('*.txt filter=evil\n');
    // Only that branch came: not the planted ref.
    expect(git(repo, 'for-each-ref', '--format=%(refname)').trim().split('\n').sort()).toEqual([`refs/heads/${branch}`, 'refs/heads/main']);
    // Nothing planted ran, and the user's repository is as it was: HEAD, branch, index, working tree.
    expect(fs.existsSync(marker)).toBe(false);
    expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(git(repo, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    expect(fs.readFileSync(path.join(repo, '.git', 'index')).equals(indexBefore)).toBe(true);
    expect(fs.readFileSync(path.join(repo, 'app.txt'), 'utf8')).toBe('one\n');
    expect(fs.readFileSync(path.join(repo, 'mine.txt'), 'utf8')).toBe('the user\'s own work in progress\n');
    // The bundle is kept with the change, and no bundling container or volume is left.
    expect(fs.existsSync(path.join(home, 'tasks', task, 'changes', 'change.bundle'))).toBe(true);
    expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=airlock.task=${task}`], { encoding: 'utf8' }).trim()).toBe('');
    expect(execFileSync('docker', ['volume', 'ls', '-q', '--filter', `label=airlock.task=${task}`], { encoding: 'utf8' }).trim()).toBe('');
  });
});
