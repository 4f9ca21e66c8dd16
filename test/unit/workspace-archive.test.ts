import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { extractOutputs, packWorkspace, type InputFile } from '../../main/core/engine/workspace-archive.js';
import { tempDir } from '../helpers/env.js';

const LIMITS = { maxBytes: 1024 * 1024, maxFiles: 100 };

/** A ustar header for a regular file; the size in base-256, as tar writes sizes over 8 GiB. */
function ustarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header[124] = 0x80;
  header.writeBigUInt64BE(BigInt(size), 128);
  header.write('00000000000\0', 136);
  header.write('0', 156);
  header.write('ustar\x0000', 257);
  header.fill(' ', 148, 156);
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

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
  it('refuses names that climb out, absolute names and symlinks; writes the rest with hashes, a hard link as a copy', async () => {
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
    const good = createHash('sha256').update('good').digest('hex');
    expect(result.files.map((f) => [f.path, f.size, f.sha256])).toEqual([['/workspace/out/good.txt', 4, good], ['/workspace/out/hard', 4, good]]);
    expect(result.skipped.map((s) => s.path)).toEqual(['/workspace/out/../../escape.txt', '/workspace/out/sub/../../../escape2.txt', '/workspace/out/link', '/workspace/out/dev']);
    expect(fs.readdirSync(dest).sort()).toEqual(['good.txt', 'hard']);
    expect(fs.readFileSync(path.join(dest, 'hard'), 'utf8')).toBe('good');
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

  it('says why a hard link is not collected when its file was not', async () => {
    const dest = path.join(tempDir(), 'dest');
    const result = await extractOutputs(archive([
      { name: 'out/link', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'out/hard', type: 'link', linkname: 'out/link' },
    ]), '/workspace/out', dest, LIMITS);
    expect(result.skipped).toEqual([
      { path: '/workspace/out/link', reason: 'symlink not collected' },
      { path: '/workspace/out/hard', reason: 'a hard link to /workspace/out/link, which was not collected' },
    ]);
  });

  it('counts folders towards the file cap', async () => {
    const dest = path.join(tempDir(), 'dest');
    const result = await extractOutputs(archive(Array.from({ length: 50 }, (_, i) => ({ name: `out/d${i}/`, type: 'directory' as const }))), '/workspace/out', dest, { maxBytes: 1000, maxFiles: 10 });
    expect(fs.readdirSync(dest)).toHaveLength(10);
    expect(result.truncated?.reason).toMatch(/more than 10 entries \(files, folders and links all count\)/);
  });

  it('writes zero blocks as holes', async () => {
    const dest = path.join(tempDir(), 'dest');
    const body = Buffer.concat([Buffer.from('head'), Buffer.alloc(8 * 1024 * 1024), Buffer.from('tail')]);
    const pack = tar.pack();
    pack.entry({ name: 'out/sparse', size: body.length }, body);
    pack.finalize();
    const result = await extractOutputs(pack as unknown as Readable, '/workspace/out', dest, { maxBytes: 64 * 1024 * 1024, maxFiles: 10 });
    const file = path.join(dest, 'sparse');
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(result.files[0]!.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(fs.statSync(file).blocks * 512).toBeLessThan(64 * 1024);
  });

  it('ends at an entry over the bytes left without reading it', async () => {
    const dest = path.join(tempDir(), 'dest');
    // A 100 GB entry of zeros, produced only as it is read: how much of it is read is what counts.
    let produced = 0;
    const huge = Readable.from((function* () {
      yield ustarHeader('out/big', 100 * 1024 ** 3);
      // (it ends early, so a reader that drains it finishes and fails the check below)
      for (let i = 0; i < 256; i++) {
        produced += 1024 * 1024;
        yield Buffer.alloc(1024 * 1024);
      }
    })());
    const result = await extractOutputs(huge, '/workspace/out', dest, { maxBytes: 1024 ** 3, maxFiles: 10 });
    expect(result.truncated?.reason).toMatch(/at \/workspace\/out\/big: its 107374182400 bytes are more than the 1073741824 left/);
    expect(produced).toBeLessThan(64 * 1024 * 1024);
    expect(fs.existsSync(path.join(dest, 'big'))).toBe(false);
  });
});
