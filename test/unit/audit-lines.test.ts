import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLines, readLinesBackward, readTail } from '../../main/core/audit/segments.js';
import { tempDir } from '../helpers/env.js';

// A segment someone without the key wrote into: a "line" of any length, with or without its newline.
// Readers hold at most a bounded piece of one line; an overlong one is empty text (not a record).
const MAX = 1000;

async function all<T>(lines: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

function segment(text: string): string {
  const file = path.join(tempDir('airlock-lines-'), 'seg.jsonl');
  fs.writeFileSync(file, text);
  return file;
}

describe('audit segment lines against a hostile writer', () => {
  const long = 'x'.repeat(5000);

  it('forward: an overlong line is empty text with its true offset and number; the next lines are read as they are', async () => {
    const file = segment(`a\n${long}\nb\n${long}`);
    const lines = await all(readLines(file, 0, 1, MAX));
    expect(lines).toEqual([
      { text: 'a', lineNo: 1, offset: 0, torn: false },
      { text: '', lineNo: 2, offset: 2, torn: false },
      { text: 'b', lineNo: 3, offset: 5003, torn: false },
      { text: '', lineNo: 4, offset: 5005, torn: true },
    ]);
    // Small reads agree with big ones: the same offsets from a later start.
    expect((await all(readLines(file, 5003, 3, MAX)))[0]).toEqual({ text: 'b', lineNo: 3, offset: 5003, torn: false });
  });

  it('backward: an overlong line is empty text, the others are read as they are', async () => {
    const file = segment(`a\n${long}\nb\n`);
    expect(await all(readLinesBackward(file, 64, MAX))).toEqual(['b', '', 'a']);
    expect(await all(readLinesBackward(segment(`${long}\nb\n`), 64, MAX))).toEqual(['b', '']);
  });

  it('tail: a torn tail of any size is found without reading it whole', async () => {
    const file = segment(`a\nb\n${'y'.repeat(3_000_000)}`);
    expect(await readTail(file)).toEqual({ lastLine: 'b', goodLength: 4, tornBytes: 3_000_000 });
    expect(await readTail(segment('only torn'))).toEqual({ lastLine: undefined, goodLength: 0, tornBytes: 9 });
    expect(await readTail(segment('one\n'))).toEqual({ lastLine: 'one', goodLength: 4, tornBytes: 0 });
  });
});
