import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { harness, lines, specFrom } from '../helpers/env.js';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('inputs and outputs', () => {
  it('inputs arrive read-only, with the hashes and the host files they came from recorded', async () => {
    const { root, events, runner } = harness();
    fs.mkdirSync(path.join(root, 'data', 'nested'), { recursive: true });
    fs.writeFileSync(path.join(root, 'data', 'a.csv'), 'id,amount\n1,10\n');
    fs.writeFileSync(path.join(root, 'data', 'nested', 'b.txt'), 'hello');
    fs.symlinkSync('/etc/shadow', path.join(root, 'data', 'host-secret'));
    const outcome = await runner.run(specFrom(root, `
name: reader
command: ["sh", "-c", "cat /workspace/in/a.csv; cat /workspace/in/nested/b.txt; echo; (echo x >> /workspace/in/a.csv) 2>/dev/null && echo modified || echo write-refused; (rm /workspace/in/nested/b.txt) 2>/dev/null && echo deleted || echo delete-refused; (touch /workspace/in/new) 2>/dev/null && echo created || echo create-refused; readlink /workspace/in/host-secret; cat /workspace/in/host-secret 2>/dev/null || echo link-goes-nowhere-useful"]
inputs: [{ from: ./data, to: /workspace/in }]
`));
    expect(outcome.exitCode).toBe(0);
    expect(lines(events)).toEqual(['id,amount', '1,10', 'hello', 'write-refused', 'delete-refused', 'create-refused', '/etc/shadow', 'link-goes-nowhere-useful']);
    const inputs = events.filter((e) => e.kind === 'fs.input').map((e) => e.data);
    expect(inputs).toEqual([
      { path: '/workspace/in/a.csv', from: path.join(root, 'data', 'a.csv'), size: 15, sha256: sha256('id,amount\n1,10\n') },
      { path: '/workspace/in/nested/b.txt', from: path.join(root, 'data', 'nested', 'b.txt'), size: 5, sha256: sha256('hello') },
    ]);
  });

  it('collects outputs with the right sha256 into the output folder', async () => {
    const { root, events, runner } = harness();
    const outDir = path.join(root, 'results');
    const outcome = await runner.run(specFrom(root, `
name: writer
command: ["sh", "-c", "mkdir -p /workspace/out/sub && printf 'report' > /workspace/out/report.md && head -c 100000 /dev/urandom > /workspace/out/sub/blob.bin && echo scratch > /workspace/scratch"]
outputs: [/workspace/out]
`, { outputDir: outDir }));
    expect(outcome).toMatchObject({ exitCode: 0, artifacts: 2, artifactsDir: outDir });
    expect(fs.readFileSync(path.join(outDir, 'report.md'), 'utf8')).toBe('report');
    const blob = fs.readFileSync(path.join(outDir, 'sub', 'blob.bin'));
    expect(blob.length).toBe(100000);
    const recorded = events.filter((e) => e.kind === 'fs.output').map((e) => e.data);
    expect(recorded).toContainEqual({ path: '/workspace/out/report.md', file: path.join(outDir, 'report.md'), size: 6, sha256: sha256('report') });
    expect(recorded).toContainEqual({ path: '/workspace/out/sub/blob.bin', file: path.join(outDir, 'sub', 'blob.bin'), size: 100000, sha256: sha256(blob) });
    expect(fs.existsSync(path.join(outDir, 'scratch'))).toBe(false);
  });

  it('symlink tricks in outputs cannot write or read outside the output folder', async () => {
    const { root, events, runner } = harness();
    const outDir = path.join(root, 'results');
    const victimDir = path.join(root, 'victim');
    fs.mkdirSync(outDir);
    fs.mkdirSync(victimDir);
    fs.writeFileSync(path.join(victimDir, 'precious.txt'), 'keep me');
    // Links already in the user's output folder, named like files the agent will write.
    fs.symlinkSync(path.join(victimDir, 'precious.txt'), path.join(outDir, 'report.md'));
    fs.symlinkSync(victimDir, path.join(outDir, 'sub'));
    const outcome = await runner.run(specFrom(root, `
name: sneaky
command: ["sh", "-c", "cd /workspace/out && echo pwned > report.md && mkdir sub && echo pwned > sub/precious.txt && ln -s /etc/passwd passwd && ln -s / rootfs && echo fine > ok.txt"]
outputs: [/workspace/out]
`, { outputDir: outDir }));
    expect(outcome.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(victimDir, 'precious.txt'), 'utf8')).toBe('keep me');
    expect(fs.readdirSync(victimDir)).toEqual(['precious.txt']);
    expect(fs.readFileSync(path.join(outDir, 'ok.txt'), 'utf8')).toBe('fine\n');
    expect(fs.existsSync(path.join(outDir, 'passwd'))).toBe(false);
    expect(fs.existsSync(path.join(outDir, 'rootfs'))).toBe(false);
    const skipped = events.filter((e) => e.kind === 'fs.output' && e.data.skipped).map((e) => e.data.path);
    expect(skipped.sort()).toEqual(['/workspace/out/passwd', '/workspace/out/report.md', '/workspace/out/rootfs', '/workspace/out/sub', '/workspace/out/sub/precious.txt']);
  });

  it('an output folder the agent never created is reported, not an error', async () => {
    const { root, events, runner } = harness();
    const outcome = await runner.run(specFrom(root, 'name: lazy\ncommand: ["sh", "-c", "rmdir /workspace/out"]\noutputs: [/workspace/out]\n'));
    expect(outcome.exitCode).toBe(0);
    expect(events.find((e) => e.kind === 'fs.output')?.data).toEqual({ path: '/workspace/out', missing: true });
  });
});
