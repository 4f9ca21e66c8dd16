import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, specFrom } from '../helpers/env.js';

/** Bytes a folder really takes on disk (allocated blocks, not apparent sizes), and how many entries it holds. */
function diskUse(dir: string): { bytes: number; entries: number } {
  let bytes = 0;
  let entries = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    entries += 1;
    bytes += fs.lstatSync(path.join(entry.parentPath, entry.name)).blocks * 512;
  }
  return { bytes, entries };
}

// A hostile agent's outputs, collected by the real runner from a real sandbox: a hard link, a
// 100 GB sparse file, a legitimately sparse one, and a flood of empty folders (a cap of 10,000 entries here).
describe('collecting a hostile agent\'s outputs', () => {
  it('collects a hard link under both names, never inflates a sparse file, stops at a huge one without reading it, and counts folders', async () => {
    const h = harness();
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, extractLimits: { maxBytes: 1024 ** 3, maxFiles: 10_000 } });
    const script = [
      'set -e',
      'echo linked-data > /workspace/links/a', 'ln /workspace/links/a /workspace/links/b',
      'printf head > /workspace/sparse/legit', 'truncate -s 256M /workspace/sparse/legit', 'printf tail >> /workspace/sparse/legit',
      'truncate -s 100G /workspace/huge/big',
      'cd /workspace/dirs && seq 1 20000 | xargs mkdir',
      'echo planted',
    ].join('; ');
    const spec = specFrom(h.root, `name: hoarder\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\noutputs: [/workspace/links, /workspace/sparse, /workspace/huge, /workspace/dirs]\ntimeout: 2m\n`);
    const outcome = await runner.run(spec);
    expect(outcome.exitCode).toBe(0);
    const events = h.events.filter((e) => e.task === outcome.task);
    const outputs = events.filter((e) => e.kind === 'fs.output').map((e) => e.data);
    const truncated = events.filter((e) => e.kind === 'output.truncated').map((e) => e.data);

    // The hard link: collected once under each name, same content, same hash.
    const linkHash = createHash('sha256').update('linked-data\n').digest('hex');
    expect(outputs.filter((o) => String(o.path).startsWith('/workspace/links/'))).toEqual([
      expect.objectContaining({ path: '/workspace/links/a', size: 12, sha256: linkHash }),
      expect.objectContaining({ path: '/workspace/links/b', size: 12, sha256: linkHash }),
    ]);
    expect(fs.readFileSync(path.join(outcome.artifactsDir, 'links', 'b'), 'utf8')).toBe('linked-data\n');

    // The legit sparse file: its full length and hash, but only its data's blocks on the host.
    const legit = path.join(outcome.artifactsDir, 'sparse', 'legit');
    expect(fs.statSync(legit).size).toBe(256 * 1024 ** 2 + 4);
    expect(fs.statSync(legit).blocks * 512).toBeLessThan(1024 * 1024);
    const expected = createHash('sha256').update('head').update(Buffer.alloc(256 * 1024 ** 2 - 4)).update('tail').digest('hex');
    expect(outputs.find((o) => o.path === '/workspace/sparse/legit')).toMatchObject({ size: 256 * 1024 ** 2 + 4, sha256: expected });

    // The 100 GB file: refused by its header, and the rest of its archive never read.
    expect(truncated).toContainEqual(expect.objectContaining({ path: '/workspace/huge', reason: expect.stringMatching(/at \/workspace\/huge\/big: its 107374182400 bytes are more than the \d+ left of 1073741824/) }));
    expect(fs.existsSync(path.join(outcome.artifactsDir, 'huge', 'big'))).toBe(false);
    // Collection took seconds, not the minutes that reading 100 GB of zeros would.
    const exited = Date.parse(events.find((e) => e.kind === 'task.exited')!.time);
    const collected = Date.parse(events.filter((e) => e.kind === 'fs.output' || e.kind === 'output.truncated').at(-1)!.time);
    expect(collected - exited).toBeLessThan(15_000);

    // 20,000 empty folders: they count, so collection stops at the cap and says where.
    expect(truncated).toContainEqual(expect.objectContaining({ path: '/workspace/dirs', reason: expect.stringMatching(/more than 10000 entries \(files, folders and links all count\)/) }));
    const used = diskUse(outcome.artifactsDir);
    expect(used.entries).toBeLessThanOrEqual(10_000 + 4);
    expect(used.bytes).toBeLessThan(64 * 1024 * 1024);

    // Airlock kept working: the next task runs and is collected as usual.
    const next = await runner.run(specFrom(h.root, 'name: after\ncommand: ["sh", "-c", "echo fine > /workspace/out/ok"]\noutputs: [/workspace/out]\n'));
    expect(next.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(next.artifactsDir, 'ok'), 'utf8')).toBe('fine\n');
  }, 120_000);
});
