import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, specFrom } from '../helpers/env.js';

const sha = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

/** The project as copied in: written on the host, and (until the copy exists) recreated by the agent's first lines. */
const BASE: Record<string, { content: string; mode: number }> = {
  'a.txt': { content: 'one\ntwo\nthree\n', mode: 0o644 },
  'del.txt': { content: 'bye\n', mode: 0o644 },
  'old-name.txt': { content: 'moving\n', mode: 0o644 },
  'run.sh': { content: 'echo hi\n', mode: 0o644 },
  'img.bin': { content: '\u0000\u0001binary', mode: 0o644 },
};

/** A base.json as the project copy writes it (main/core/changes/base.ts), for the project at `hostPath`. */
function writeFixture(hostPath: string, taskDir: string): void {
  fs.mkdirSync(hostPath, { recursive: true });
  for (const [name, file] of Object.entries(BASE)) fs.writeFileSync(path.join(hostPath, name), file.content, { mode: file.mode });
  const files = Object.entries(BASE).map(([name, file]) => ({ path: name, mode: file.mode, sha256: sha(file.content), size: Buffer.byteLength(file.content) }));
  fs.mkdirSync(path.join(taskDir, 'project'), { recursive: true });
  fs.writeFileSync(path.join(taskDir, 'project', 'base.json'), JSON.stringify({ hostPath, containerPath: '/workspace/project', git: false, files }));
}

const seed = Object.entries(BASE).map(([name, file]) => `printf %s ${JSON.stringify(file.content.replaceAll('\u0000', '\\000').replaceAll('\u0001', '\\001').replace(/\n/g, '\\n'))} | xargs -0 printf > ${name}`).join('; ');

// A hostile agent edits, adds, deletes, renames, chmods and commits in its project, and tries to
// smuggle things out through the change: a symlink to a host file, git hooks, a nested .git, a
// .gitattributes filter, a name with a newline (to forge patch lines), a setuid bit.
describe('the change a hostile agent makes to its project', () => {
  it('is a faithful git-style diff that carries none of the escapes, each refused on the record, with its hash in the trail', async () => {
    const h = harness();
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home });
    const task = 'changes-hostile-1';
    const hostPath = path.join(h.root, 'project');
    writeFixture(hostPath, h.home.task(task));
    const script = [
      'set -e', 'cd /workspace', seed,
      // ordinary work
      "printf 'one\\nTWO\\nthree\\n' > a.txt", "printf 'fresh\\n' > new.txt", 'rm del.txt', 'mv old-name.txt new-name.txt', 'chmod +x run.sh',
      "printf '\\000\\002changed' > img.bin", 'ln -s a.txt inside-link',
      'git init -q . && git -c user.name=a -c user.email=a@a.test add -A && git -c user.name=a -c user.email=a@a.test commit -qm work',
      // escapes
      'ln -s /etc/passwd leak', 'ln -s ../../outside up',
      "printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > .git/hooks/post-checkout", 'chmod +x .git/hooks/post-checkout',
      'mkdir -p sub/.git && printf "[core]\\nfsmonitor = touch /tmp/pwned\\n" > sub/.git/config',
      "printf '* filter=evil\\n' > .gitattributes",
      `printf x > "$(printf 'evil\\n+++ b')"`, "printf x > '..\\..\\win'",
      "printf '#!/bin/sh\\n' > suid.sh && chmod 4755 suid.sh",
      'echo done',
    ].join('; ');
    const spec = specFrom(h.root, `name: changer\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ntimeout: 2m\n`);
    const outcome = await runner.run(spec, { taskId: task });
    const events = h.events.filter((e) => e.task === task);
    expect(events.filter((e) => e.kind === 'proc.stderr').map((e) => e.data.line)).toEqual([]);
    expect(outcome.exitCode).toBe(0);
    const changesDir = path.join(h.home.task(task), 'changes');
    const stored = JSON.parse(fs.readFileSync(path.join(changesDir, 'change.json'), 'utf8')) as { files: Record<string, unknown>[]; refused: { path: string; reason: string }[] };
    const patch = fs.readFileSync(path.join(changesDir, 'change.patch'), 'utf8');

    // The ordinary work, each kind as it is.
    const byPath = new Map(stored.files.map((f) => [f.path, f]));
    expect(byPath.get('a.txt')).toMatchObject({ status: 'modified', added: 1, removed: 1, binary: false });
    expect(byPath.get('new.txt')).toMatchObject({ status: 'added', added: 1 });
    expect(byPath.get('del.txt')).toMatchObject({ status: 'deleted', removed: 1 });
    expect(byPath.get('new-name.txt')).toMatchObject({ status: 'renamed', oldPath: 'old-name.txt' });
    expect(byPath.get('run.sh')).toMatchObject({ status: 'mode', oldMode: 0o644, newMode: 0o755 });
    expect(byPath.get('inside-link')).toMatchObject({ status: 'added', symlinkTarget: 'a.txt' });
    const binaryNew = Buffer.from('\u0000\u0002changed', 'latin1');
    expect(byPath.get('img.bin')).toMatchObject({ status: 'modified', binary: true, blob: sha(binaryNew) });
    expect(fs.readFileSync(path.join(changesDir, 'blobs', sha(binaryNew)))).toEqual(binaryNew);
    expect(patch).toContain('diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n');
    expect(patch).toContain('diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n');
    expect(patch).toContain('rename from old-name.txt\nrename to new-name.txt\n');
    expect(patch).toContain('Binary files a/img.bin and b/img.bin differ');

    // The escapes: none in the change, each refused by name.
    for (const name of ['leak', 'up', '.git/hooks/post-checkout', 'sub/.git/config', 'evil\n+++ b', '..\\..\\win']) {
      expect(byPath.has(name)).toBe(false);
      expect(stored.refused.map((r) => r.path)).toContain(name);
      expect(events).toContainEqual(expect.objectContaining({ kind: 'changes.refused', data: expect.objectContaining({ path: name }) }));
    }
    expect(patch).not.toContain('/etc/passwd');
    // Every `+++` line of the patch names a file of the change: none forged by a name.
    const named = new Set(['/dev/null', ...stored.files.map((f) => `b/${String(f.path)}`)]);
    expect(patch.split('\n').filter((line) => line.startsWith('+++ ')).every((line) => named.has(line.slice(4)))).toBe(true);
    expect([...stored.files.map((f) => String(f.path))].some((p) => p.startsWith('.git/'))).toBe(false);
    // The setuid bit never leaves the sandbox; the file does, executable only.
    expect(byPath.get('suid.sh')).toMatchObject({ status: 'added', newMode: 0o755 });
    expect(stored.refused).toContainEqual({ path: 'suid.sh', reason: expect.stringMatching(/setuid/) });
    // .gitattributes is shown as content; nothing on the host ran its filter (the host never ran git on it).
    expect(byPath.get('.gitattributes')).toMatchObject({ status: 'added' });
    expect(fs.readdirSync(hostPath).sort()).toEqual(Object.keys(BASE).sort());

    // The trail vouches for the stored patch.
    const recorded = events.find((e) => e.kind === 'task.changes')!;
    expect(recorded.data).toMatchObject({ files: stored.files.length, patchSha256: sha(patch), live: false });
    expect(events.at(-1)?.kind).toBe('task.destroyed');
  }, 120_000);

  it('refuses, on the record, a working copy over its bounds rather than storing a partial change', async () => {
    const h = harness();
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, changeLimits: { maxFiles: 50, maxBytes: 1024 ** 2 } });
    const task = 'changes-flood-1';
    writeFixture(path.join(h.root, 'project'), h.home.task(task));
    const spec = specFrom(h.root, `name: flooder\ncommand: ["sh", "-c", ${JSON.stringify(`cd /workspace; ${seed}; seq 1 500 | xargs touch`)}]\ntimeout: 1m\n`);
    const outcome = await runner.run(spec, { taskId: task });
    expect(outcome.exitCode).toBe(0);
    const events = h.events.filter((e) => e.task === task);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'changes.refused', data: { reason: expect.stringMatching(/more than 50 entries: no change was collected/) } }));
    expect(events.some((e) => e.kind === 'task.changes')).toBe(false);
    expect(fs.existsSync(path.join(h.home.task(task), 'changes'))).toBe(false);
    expect(events.at(-1)?.kind).toBe('task.destroyed');
  }, 60_000);
});
