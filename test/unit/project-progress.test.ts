import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyProject, PROGRESS_EVERY_MS } from '../../main/core/tasks/project-copy.js';
import { tempDir } from '../helpers/env.js';

/**
 * A large project's copy reports how far it has got (`project.progress`, which the CLI shows),
 * at most once per PROGRESS_EVERY_MS of the task's clock, however many files there are.
 */
describe('project copy progress', () => {
  it('reports files and bytes copied so far, of the totals, throttled by the clock', async () => {
    const project = tempDir('airlock-progress-project-');
    const FILES = 60;
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(project, `file-${i}.txt`), 'x'.repeat(100));
    let now = 0;
    const clock = () => (now += 100); // every reading is 100 ms later: a report every 5 files at most
    const progress: Record<string, unknown>[] = [];
    const recorded: Record<string, unknown>[] = [];
    await copyProject({
      project: { from: project, to: '/workspace/project' }, workdir: '/workspace', diskBytes: 1 << 30, taskDir: tempDir('airlock-progress-task-'),
      seed: async (_workdir, archive) => {
        for await (const chunk of archive) void chunk; // the sandbox's side: the archive is read to its end
      },
      record: (data) => recorded.push(data),
      progress: { now: clock, emit: (data) => progress.push(data) },
    });
    expect(recorded).toEqual([expect.objectContaining({ files: FILES, bytes: FILES * 100 })]);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.length).toBeLessThanOrEqual(Math.ceil((FILES * 100) / PROGRESS_EVERY_MS));
    for (const report of progress) expect(report).toMatchObject({ totalFiles: FILES, totalBytes: FILES * 100 });
    const counts = progress.map((report) => Number(report.files));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBeLessThanOrEqual(FILES);
    expect(progress.map((report) => report.bytes)).toEqual(counts.map((files) => files * 100));
  });
});
