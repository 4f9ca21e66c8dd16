// `airlock diff/apply/discard` on a stored change, through the real CLI (core in process, real
// keychain for the trail), on real git repositories and plain folders made here. Everything in a
// stored change came out of a sandbox: the hostile ones below are what an agent (or a damaged
// store) could make, and each must be refused with the user's folder left exactly as it was.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/env.js';
import { git, makeProject, sha, storeChange, taskIdFor } from '../helpers/stored-change.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 0, 255]);

function homeEnv() {
  const home = path.join(tempDir('airlock-changes-'), 'home');
  return { home, env: { AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess' } };
}

/** Every file of a folder (not .git) with its bytes and mode, to show nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (p === '.git') continue;
      const st = fs.lstatSync(path.join(dir, p));
      if (d.isDirectory()) walk(p);
      else out[p] = `${(st.mode & 0o7777).toString(8)} ${st.isSymbolicLink() ? fs.readlinkSync(path.join(dir, p)) : sha(fs.readFileSync(path.join(dir, p)))}`;
    }
  };
  walk('');
  return out;
}

async function trail(env: NodeJS.ProcessEnv, task: string): Promise<{ kind: string; data: Record<string, unknown> }[]> {
  const result = await runCli(['audit', 'export', '--task', task], { env });
  return result.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; data: Record<string, unknown> });
}

describe('airlock apply on a git repository with uncommitted work', () => {
  it('applies edits, a binary file, a rename and a deletion all at once; the user\'s uncommitted work is kept; diff shows it; the trail records it', { timeout: 60_000 }, async () => {
    const { home, env } = homeEnv();
    const project = makeProject({ 'a.txt': 'one\ntwo\nthree\n', 'old.txt': 'moved\n', 'gone.txt': 'bye\n', 'notes.txt': 'mine\n' }, true);
    const task = taskIdFor(1);
    storeChange({ home, task, project, edit: (copy) => {
      fs.writeFileSync(path.join(copy, 'a.txt'), 'one\nTWO\nthree\n');
      fs.writeFileSync(path.join(copy, 'logo.png'), PNG);
      fs.renameSync(path.join(copy, 'old.txt'), path.join(copy, 'new.txt'));
      fs.rmSync(path.join(copy, 'gone.txt'));
    } });
    // The user's own work since the task started, in files the change does not touch.
    fs.writeFileSync(path.join(project, 'notes.txt'), 'mine, edited\n');
    fs.writeFileSync(path.join(project, 'scratch.txt'), 'untracked\n');

    const stat = await runCli(['diff', task, '--stat'], { env });
    expect(stat.code).toBe(0);
    expect(stat.stdout).toMatch(/a\.txt\s+\| modified/);
    expect(stat.stdout).toMatch(/old\.txt => new\.txt/);
    const json = JSON.parse((await runCli(['diff', task, '--json'], { env })).stdout) as { files: { path: string; binary: boolean }[]; project: string };
    expect(json.project).toBe(project);
    expect(json.files.find((f) => f.path === 'logo.png')?.binary).toBe(true);
    expect((await runCli(['diff', task], { env })).stdout).toContain('+TWO');

    const applied = await runCli(['apply', task], { env });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(fs.readFileSync(path.join(project, 'a.txt'), 'utf8')).toBe('one\nTWO\nthree\n');
    expect(fs.readFileSync(path.join(project, 'logo.png'))).toEqual(PNG);
    expect(fs.readFileSync(path.join(project, 'new.txt'), 'utf8')).toBe('moved\n');
    expect(fs.existsSync(path.join(project, 'old.txt'))).toBe(false);
    expect(fs.existsSync(path.join(project, 'gone.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(project, 'notes.txt'), 'utf8')).toBe('mine, edited\n');
    expect(fs.readFileSync(path.join(project, 'scratch.txt'), 'utf8')).toBe('untracked\n');
    // Refs, index and branch untouched; no temporary or backup file left behind.
    expect(git(project, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
    expect(fs.readdirSync(project).filter((n) => n.includes('.airlock-'))).toEqual([]);
    // Twice is refused.
    expect((await runCli(['apply', task], { env })).stderr).toMatch(/applied already/);
    const events = await trail(env, task);
    expect(events.find((e) => e.kind === 'changes.applied')?.data).toMatchObject({ project, files: 5 });

    expect((await runCli(['discard', task], { env })).code).toBe(0);
    expect(fs.existsSync(path.join(home, 'tasks', task, 'changes'))).toBe(false);
    expect((await trail(env, task)).some((e) => e.kind === 'changes.discarded')).toBe(true);
    expect((await runCli(['audit', 'verify', '--json'], { env })).code).toBe(0);
  });
});

describe('hostile changes are refused whole, the folder left as it was', () => {
  it('a file the user changed since the task started: refused naming it, nothing else applied; --3way merges edits that do not overlap', { timeout: 60_000 }, async () => {
    const { home, env } = homeEnv();
    const project = makeProject({ 'a.txt': '1\n2\n3\n4\n5\n6\n7\n8\n', 'b.txt': 'b\n' }, true);
    const task = taskIdFor(2);
    storeChange({ home, task, project, edit: (copy) => {
      fs.writeFileSync(path.join(copy, 'a.txt'), '1\n2\n3\n4\n5\n6\n7\nEIGHT\n');
      fs.writeFileSync(path.join(copy, 'b.txt'), 'B\n');
    } });
    fs.writeFileSync(path.join(project, 'a.txt'), 'ONE\n2\n3\n4\n5\n6\n7\n8\n');
    const before = snapshot(project);
    const refused = await runCli(['apply', task], { env });
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/changed since the task started: a\.txt/);
    expect(snapshot(project)).toEqual(before);

    const merged = await runCli(['apply', task, '--3way'], { env });
    expect(merged.code).toBe(0);
    expect(merged.stderr).toMatch(/merged with your edits: a\.txt/);
    expect(fs.readFileSync(path.join(project, 'a.txt'), 'utf8')).toBe('ONE\n2\n3\n4\n5\n6\n7\nEIGHT\n');
    expect(fs.readFileSync(path.join(project, 'b.txt'), 'utf8')).toBe('B\n');
  });

  it('a setuid bit and exec bits the user did not have are never set', { timeout: 60_000 }, async () => {
    const { home, env } = homeEnv();
    const project = makeProject({ 'run.sh': 'echo hi\n', 'tool.sh': 'echo tool\n' }, false);
    fs.chmodSync(path.join(project, 'run.sh'), 0o644);
    fs.chmodSync(path.join(project, 'tool.sh'), 0o755);
    const task = taskIdFor(3);
    storeChange({ home, task, project, edit: (copy) => {
      fs.writeFileSync(path.join(copy, 'run.sh'), 'echo pwned\n');
      fs.chmodSync(path.join(copy, 'run.sh'), 0o755);
      fs.writeFileSync(path.join(copy, 'added.sh'), 'echo new\n');
      fs.chmodSync(path.join(copy, 'added.sh'), 0o755);
      fs.writeFileSync(path.join(copy, 'tool.sh'), 'echo tool2\n');
    }, tamper: (summary) => {
      for (const f of summary.files) if (f.path === 'tool.sh') f.newMode = 0o106755; // setuid + setgid asked for
    } });
    const applied = await runCli(['apply', task], { env });
    expect(applied.code).toBe(0);
    expect(fs.statSync(path.join(project, 'run.sh')).mode & 0o7777).toBe(0o644);
    expect(fs.statSync(path.join(project, 'added.sh')).mode & 0o7777).toBe(0o644);
    expect(fs.statSync(path.join(project, 'tool.sh')).mode & 0o7777).toBe(0o755);
    expect(applied.stderr).toMatch(/run\.sh: executable bit not set/);
    expect(applied.stderr).toMatch(/tool\.sh: setuid\/setgid\/sticky bit not set/);
    expect((await trail(env, task)).find((e) => e.kind === 'changes.applied')?.data.modeNotices).toHaveLength(3);
  });

  it('a symlink pointing outside the project, a write through a symlink, a path with `..`, a tampered patch: refused, folder untouched', { timeout: 60_000 }, async () => {
    const { home, env } = homeEnv();
    const outside = tempDir('airlock-outside-');
    const project = makeProject({ 'keep.txt': 'k\n' }, true);
    fs.symlinkSync(outside, path.join(project, 'out')); // the user's own link to elsewhere
    const before = snapshot(project);

    const escape = taskIdFor(4);
    storeChange({ home, task: escape, project, edit: (copy) => {
      fs.writeFileSync(path.join(copy, 'keep.txt'), 'changed\n');
      fs.symlinkSync('../../../etc/passwd', path.join(copy, 'passwd'));
    } });
    const r1 = await runCli(['apply', escape], { env });
    expect(r1.code).toBe(125);
    expect(r1.stderr).toMatch(/passwd \(a symlink pointing outside the project/);

    const through = taskIdFor(5);
    storeChange({ home, task: through, project, edit: (copy) => {
      fs.rmSync(path.join(copy, 'out'));
      fs.mkdirSync(path.join(copy, 'out'));
      fs.writeFileSync(path.join(copy, 'out', 'planted'), 'x\n');
    }, tamper: (summary) => {
      summary.files = summary.files.filter((f) => f.path === 'out/planted');
    } });
    const r2 = await runCli(['apply', through], { env });
    expect(r2.stderr).toMatch(/out\/planted \(goes through the symlink out\)/);
    expect(fs.readdirSync(outside)).toEqual([]);

    const traversal = taskIdFor(6);
    storeChange({ home, task: traversal, project, edit: (copy) => fs.writeFileSync(path.join(copy, 'x'), 'x\n'), tamper: (summary) => {
      summary.files[0]!.path = '../x';
    } });
    const r3 = await runCli(['apply', traversal], { env });
    expect(r3.stderr).toMatch(/cannot be used: change\.json: files\.0\.path must be a relative path/);

    const tampered = taskIdFor(7);
    storeChange({ home, task: tampered, project, edit: (copy) => fs.writeFileSync(path.join(copy, 'keep.txt'), 'changed\n') });
    fs.appendFileSync(path.join(home, 'tasks', tampered, 'changes', 'change.patch'), '+sneaked in\n');
    for (const args of [['diff', tampered], ['apply', tampered]]) {
      const r = await runCli(args, { env });
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/change\.patch does not match the sha256 recorded for it/);
    }
    expect(snapshot(project)).toEqual(before);
    expect(fs.readdirSync(outside)).toEqual([]);
    // Airlock kept working: a good change still applies.
    const good = taskIdFor(8);
    storeChange({ home, task: good, project, edit: (copy) => fs.writeFileSync(path.join(copy, 'keep.txt'), 'good\n') });
    expect((await runCli(['apply', good], { env })).code).toBe(0);
    expect(fs.readFileSync(path.join(project, 'keep.txt'), 'utf8')).toBe('good\n');
  });

  it('diff on a terminal shows agent text inert: escape sequences in file names and lines do not reach it raw', async () => {
    const { patchText } = await import('../../main/cli/commands/changes.js');
    const text = patchText('diff --git a/x b/x\n+\u001b]52;c;cHduZWQ=\u0007\u001b[2J evil\n', true);
    expect(text).not.toContain('\u001b]52');
    expect(text).not.toContain('\u001b[2J');
    expect(text).toContain('\u001b[32m'); // Airlock's own green
  });
});
