import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { PREVIEW_MAX_BYTES, readArtifactBytes, viewOf, type RecordedArtifact } from '../../main/core/service/artifact-read.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, specFrom } from '../helpers/env.js';

// A hostile agent's outputs, collected by the real runner from a real sandbox, then read back the
// way the app's Artifacts tab reads them (artifacts.read): what may be shown inline, and how.
describe('showing a hostile agent\'s artifacts inline', () => {
  it('never shows SVG or HTML as an image, refuses a file swapped after collection or for a symlink, and bounds what it reads', async () => {
    const h = harness();
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home });
    const script = [
      'set -e', 'cd /workspace/out',
      // An SVG with script named as a PNG, and HTML named as a JPEG: shown as text, never as an image.
      `printf '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>' > fake.png`,
      `printf '<html><script>alert(3)</script></html>' > page.jpg`,
      // A real PNG header: an image.
      `printf '\\211PNG\\r\\n\\032\\n\\000\\000\\000\\rIHDR' > real.png`,
      'printf "# hi\\n<script>alert(4)</script>\\n" > notes.md',
      'head -c 9000000 /dev/zero | tr "\\0" a > big.txt',
      'echo original > swapped.txt', 'echo original > linked.txt',
    ].join('; ');
    const spec = specFrom(h.root, `name: painter\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\noutputs: [/workspace/out]\ntimeout: 2m\n`);
    const outcome = await runner.run(spec);
    expect(outcome.exitCode).toBe(0);
    const recorded = new Map<string, RecordedArtifact>();
    for (const e of h.events.filter((e) => e.task === outcome.task && e.kind === 'fs.output')) {
      const { path: p, file, size, sha256 } = e.data as unknown as RecordedArtifact;
      recorded.set(path.posix.basename(p), { path: p, file, size, sha256 });
    }
    const read = async (name: string) => {
      const artifact = recorded.get(name)!;
      const bytes = await readArtifactBytes(artifact, PREVIEW_MAX_BYTES);
      return viewOf(artifact.path, bytes);
    };

    expect(await read('fake.png')).toEqual({ kind: 'text' });
    expect(await read('page.jpg')).toEqual({ kind: 'text' });
    expect(await read('real.png')).toEqual({ kind: 'image', mime: 'image/png' });
    expect(await read('notes.md')).toEqual({ kind: 'markdown' });

    // Bigger than the preview's bound: refused by its size, not read.
    await expect(read('big.txt')).rejects.toThrow(/9000000 bytes, more than the 8388608/);

    // Changed on the host after collection: not the file the trail vouches for.
    fs.writeFileSync(recorded.get('swapped.txt')!.file, 'forged\n');
    await expect(read('swapped.txt')).rejects.toThrow(/was changed after it was collected/);
    // Replaced by a symlink to a file of the user's: not followed.
    const secret = path.join(h.root, 'secret');
    fs.writeFileSync(secret, 'original\n');
    fs.rmSync(recorded.get('linked.txt')!.file);
    fs.symlinkSync(secret, recorded.get('linked.txt')!.file);
    await expect(read('linked.txt')).rejects.toThrow(/is now a symlink: not followed/);

    // Reading went on working for the others.
    expect(await read('notes.md')).toEqual({ kind: 'markdown' });
  }, 120_000);
});
