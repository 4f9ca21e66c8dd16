import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import type { ProjectBase } from '../../main/core/changes/base.js';
import { harness, lines, specFrom } from '../helpers/env.js';

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });

/**
 * A user's repository as a hostile one would be set up: a secret in an ignored `.env`, hooks and
 * an fsmonitor command that would run on the host, a filter and a canary in `.git/config`, a
 * tracked symlink and an untracked symlinked folder pointing outside the project, a folder the
 * `.airlockignore` leaves out, and work not committed yet.
 */
function hostileRepo(root: string): { repo: string; markers: string } {
  const repo = path.join(root, 'repo');
  const markers = path.join(root, 'markers');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(markers);
  fs.mkdirSync(path.join(outside, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'OUTSIDE-SECRET\n');
  fs.writeFileSync(path.join(outside, 'dir', 'deep.txt'), 'OUTSIDE-DEEP\n');
  fs.mkdirSync(path.join(repo, 'src'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'secrets'));
  git(root, 'init', '--quiet', '-b', 'main', repo);
  git(repo, 'config', 'user.email', 'dev@airlock.test');
  git(repo, 'config', 'user.name', 'dev');
  git(repo, 'config', 'airlock-test.canary', 'USER-CONFIG-CANARY');
  git(repo, 'config', 'filter.evil.smudge', `sh -c 'touch ${markers}/filter; cat'`);
  fs.writeFileSync(path.join(repo, '.gitignore'), '.env\nbuild/\n');
  fs.writeFileSync(path.join(repo, '.airlockignore'), 'secrets/\n');
  fs.writeFileSync(path.join(repo, '.gitattributes'), '*.js filter=evil\n');
  fs.writeFileSync(path.join(repo, 'src', 'a.js'), 'one\n');
  fs.writeFileSync(path.join(repo, 'run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
  fs.writeFileSync(path.join(repo, 'secrets', 'key.pem'), 'TRACKED-BUT-AIRLOCKIGNORED\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(repo, 'outside'));
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'first');
  fs.writeFileSync(path.join(repo, 'src', 'a.js'), 'one\ntwo\n');
  git(repo, 'commit', '--quiet', '-am', 'second');
  // Not committed: an edit, an untracked file, ignored files, a symlinked folder outside.
  fs.writeFileSync(path.join(repo, 'src', 'a.js'), 'one\ntwo\nuncommitted\n');
  fs.writeFileSync(path.join(repo, 'notes.txt'), 'untracked, not ignored\n');
  fs.writeFileSync(path.join(repo, '.env'), 'API_KEY=DOTENV-SECRET\n');
  fs.mkdirSync(path.join(repo, 'build'));
  fs.writeFileSync(path.join(repo, 'build', 'out.bin'), 'IGNORED-BUILD\n');
  fs.symlinkSync(path.join(outside, 'dir'), path.join(repo, 'linkdir'));
  // Would run on the host if Airlock ran this repository's hooks or fsmonitor.
  for (const hook of ['post-checkout', 'pre-commit', 'post-commit', 'reference-transaction']) {
    fs.writeFileSync(path.join(repo, '.git', 'hooks', hook), `#!/bin/sh\ntouch ${markers}/${hook}\n`, { mode: 0o755 });
  }
  git(repo, 'config', 'core.fsmonitor', `${markers}/fsmonitor.sh`);
  fs.writeFileSync(path.join(markers, 'fsmonitor.sh'), `#!/bin/sh\ntouch ${markers}/fsmonitor-ran\n`, { mode: 0o755 });
  return { repo, markers };
}

// The agent looks at its working copy from inside a real sandbox, then edits and commits in it.
const AGENT = [
  'pwd',
  'echo "files: $(find . -path ./.git -prune -o \\( -type f -o -type l \\) -print | sort | tr "\\n" " ")"',
  'echo "env: $(cat .env 2>/dev/null || echo absent)"',
  'echo "hooks: $(ls .git/hooks 2>/dev/null | tr "\\n" " " || true)"',
  'echo "config: $(cat .git/config | tr "\\n\\t" "  ")"',
  'echo "outside-link: $(readlink outside)"',
  'echo "outside-read: $(cat outside 2>&1 || true)"',
  'echo "linkdir: $(readlink linkdir || echo not-a-link) $(ls linkdir/ 2>&1 || true)"',
  'echo "run.sh: $(stat -c "%u %a" run.sh)"',
  'echo "head: $(git rev-parse HEAD)"',
  'echo "status: $(git status --porcelain | tr "\\n" ",")"',
  'echo "log: $(git log --format=%s | tr "\\n" ",")"',
  'git -c user.email=a@b.test -c user.name=agent commit --quiet -am "agent edit" && echo committed',
].join('; ');

describe('a project given to an agent: a working copy, never the user\'s secrets, hooks or config', () => {
  it('copies tracked and untracked-not-ignored files with a fresh .git; never .env, hooks, config or what a symlink points at', async () => {
    const h = harness();
    const { repo, markers } = hostileRepo(h.root);
    const userHead = git(repo, 'rev-parse', 'HEAD').trim();
    const userStatus = git(repo, '-c', 'core.fsmonitor=false', 'status', '--porcelain');
    fs.rmSync(path.join(markers, 'filter'), { force: true });
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home });
    const spec = specFrom(h.root, `name: project-taker\ncommand: ["sh", "-c", ${JSON.stringify(AGENT)}]\nproject: {}\ntimeout: 2m\n`, { project: { hostPath: repo } });
    const outcome = await runner.run(spec);
    const events = h.events.filter((e) => e.task === outcome.task);
    const said = (label: string) => lines(events).find((l) => l.startsWith(`${label}: `))?.slice(label.length + 2);
    expect(outcome.exitCode).toBe(0);
    expect(lines(events)[0]).toBe('/workspace/project');

    // What was copied: tracked + untracked-not-ignored, minus .airlockignore; never .env or build/.
    expect(said('files')?.trim().split(' ')).toEqual(['./.airlockignore', './.gitattributes', './.gitignore', './linkdir', './notes.txt', './outside', './run.sh', './src/a.js']);
    expect(said('env')).toBe('absent');
    const everything = JSON.stringify(events);
    for (const secret of ['DOTENV-SECRET', 'IGNORED-BUILD', 'TRACKED-BUT-AIRLOCKIGNORED', 'OUTSIDE-SECRET', 'OUTSIDE-DEEP', 'USER-CONFIG-CANARY']) expect(everything).not.toContain(secret);

    // A fresh .git: no hooks, none of the user's config (no canary, no filter, no fsmonitor, no remote).
    expect(said('hooks')?.trim()).toBe('');
    expect(said('config')).not.toMatch(/canary|filter|fsmonitor|remote|hooksPath/i);
    // Symlinks pointing outside are links in the sandbox, never the host files they point at.
    expect(said('outside-link')).toBe(path.join(h.root, 'outside', 'secret.txt'));
    expect(said('outside-read')).toMatch(/No such file/);
    expect(said('linkdir')).toMatch(new RegExp(`^${path.join(h.root, 'outside', 'dir')} .*No such file`));
    // The agent's own working copy: writable, exec bit kept, the history and the user's uncommitted edit.
    expect(said('run.sh')).toBe('10001 755');
    expect(said('head')).toBe(userHead);
    expect(said('status')).toBe(' M src/a.js,?? linkdir,?? notes.txt,'); // secrets/key.pem withheld, not "deleted"
    expect(said('log')).toBe('second,first,');
    expect(lines(events)).toContain('committed');

    // The record: task.project with the file count and manifest hash, and base.json kept for the diff.
    const recorded = events.find((e) => e.kind === 'task.project')?.data;
    expect(recorded).toMatchObject({ hostPath: fs.realpathSync(repo), containerPath: '/workspace/project', git: true, head: userHead, files: 8, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const base = JSON.parse(fs.readFileSync(path.join(h.home.task(outcome.task), 'project', 'base.json'), 'utf8')) as ProjectBase;
    expect(base.files.map((f) => f.path)).toEqual(['.airlockignore', '.gitattributes', '.gitignore', 'linkdir', 'notes.txt', 'outside', 'run.sh', 'src/a.js']);
    expect(base.files.find((f) => f.path === 'outside')).toMatchObject({ symlink: path.join(h.root, 'outside', 'secret.txt') });
    expect(base.files.find((f) => f.path === 'run.sh')).toMatchObject({ mode: 0o755, size: 19 });

    // Nothing ran on the host, and the user's repository is exactly as it was.
    expect(fs.readdirSync(markers).filter((f) => f !== 'fsmonitor.sh')).toEqual([]);
    expect(git(repo, 'rev-parse', 'HEAD').trim()).toBe(userHead);
    expect(git(repo, '-c', 'core.fsmonitor=false', 'status', '--porcelain')).toBe(userStatus);
    expect(fs.readFileSync(path.join(repo, 'src', 'a.js'), 'utf8')).toBe('one\ntwo\nuncommitted\n');
  }, 120_000);
});
