import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { extractOutputs, packWorkspace, type InputFile } from '../../main/core/engine/workspace-archive.js';
import { tempDir } from '../helpers/env.js';

const LIMITS = { maxBytes: 1024 * 1024, maxFiles: 100 };

function archive(entries: (Partial<tar.Header> & { name: string; body?: string })[]): Readable {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  return pack as unknown as Readable;
}

async function listArchive(stream: NodeJS.ReadableStream) {
  const entries: { name: string; type: string; uid: number; mode: number; body: string }[] = [];
  const extract = tar.extract();
  stream.pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    entries.push({ name: entry.header.name, type: entry.header.type ?? '', uid: entry.header.uid ?? -1, mode: (entry.header.mode ?? 0) & 0o777, body: Buffer.concat(chunks).toString() });
  }
  return entries;
}

describe('seeding the workspace', () => {
  it('makes inputs root-owned and read-only, outputs agent-owned, and never follows a link', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 'a.txt'), 'A');
    fs.writeFileSync(path.join(dir, 'data', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'outside-secret'), 'S');
    fs.symlinkSync(path.join(dir, 'outside-secret'), path.join(dir, 'data', 'link'));
    const seen: InputFile[] = [];
    const entries = await listArchive(packWorkspace('/workspace', [{ from: path.join(dir, 'data'), to: '/workspace/in/data' }], ['/workspace/out'], (f) => seen.push(f)));
    expect(entries).toEqual([
      { name: 'in/', type: 'directory', uid: 0, mode: 0o555, body: '' },
      { name: 'in/data/', type: 'directory', uid: 0, mode: 0o555, body: '' },
      { name: 'in/data/a.txt', type: 'file', uid: 0, mode: 0o444, body: 'A' },
      { name: 'in/data/link', type: 'symlink', uid: 0, mode: 0o777, body: '' },
      { name: 'in/data/run.sh', type: 'file', uid: 0, mode: 0o555, body: '#!/bin/sh\n' },
      { name: 'out/', type: 'directory', uid: 10001, mode: 0o755, body: '' },
    ]);
    expect(seen.map((f) => f.path)).toEqual(['/workspace/in/data/a.txt', '/workspace/in/data/run.sh']);
    expect(entries.some((e) => e.body === 'S')).toBe(false);
  });
});

describe('collecting outputs', () => {
  it('refuses names that climb out, absolute names and links; writes the rest with hashes', async () => {
    const dir = tempDir();
    const dest = path.join(dir, 'dest');
    const result = await extractOutputs(archive([
      { name: 'out/', type: 'directory' },
      { name: 'out/good.txt', body: 'good' },
      { name: 'out/../../escape.txt', body: 'bad' },
      { name: 'out/sub/../../../escape2.txt', body: 'bad' },
      { name: 'out/link', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'out/hard', type: 'link', linkname: 'out/good.txt' },
      { name: 'out/dev', type: 'character-device' },
    ]), '/workspace/out', dest, LIMITS);
    expect(result.files.map((f) => [f.path, f.size, f.sha256])).toEqual([['/workspace/out/good.txt', 4, createHash('sha256').update('good').digest('hex')]]);
    expect(result.skipped.map((s) => s.path)).toEqual(['/workspace/out/../../escape.txt', '/workspace/out/sub/../../../escape2.txt', '/workspace/out/link', '/workspace/out/hard', '/workspace/out/dev']);
    expect(fs.readdirSync(dest)).toEqual(['good.txt']);
    expect(fs.existsSync(path.join(dir, 'escape.txt'))).toBe(false);
  });

  it('stops at the size cap and says so', async () => {
    const dest = path.join(tempDir(), 'dest');
    const result = await extractOutputs(archive([
      { name: 'out/a', body: 'x'.repeat(600) },
      { name: 'out/b', body: 'x'.repeat(600) },
      { name: 'out/c', body: 'x' },
    ]), '/workspace/out', dest, { maxBytes: 1000, maxFiles: 10 });
    expect(result.files.map((f) => path.basename(f.file))).toEqual(['a']);
    expect(result.truncated?.reason).toMatch(/output limit reached/);
  });
});
