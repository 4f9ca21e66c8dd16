import fs from 'node:fs';
import path from 'node:path';

/** Segments are named after their first record and its UTC day: `000000000001-20261128.jsonl`. */
const SEGMENT_RE = /^(\d{12})-(\d{8})\.jsonl$/;

export interface Segment {
  name: string;
  path: string;
  firstN: number;
  day: string;
}

export function segmentName(firstN: number, time: string): string {
  return `${String(firstN).padStart(12, '0')}-${dayOf(time)}.jsonl`;
}

export function dayOf(time: string): string {
  return time.slice(0, 10).replaceAll('-', '');
}

export async function listSegments(dir: string): Promise<Segment[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .map((name) => ({ name, match: SEGMENT_RE.exec(name) }))
    .filter((s): s is { name: string; match: RegExpExecArray } => s.match !== null)
    .map(({ name, match }) => ({ name, path: path.join(dir, name), firstN: Number(match[1]), day: match[2]! }))
    .sort((a, b) => a.firstN - b.firstN);
}

export interface Line {
  text: string;
  /** 1-based line number within the segment. */
  lineNo: number;
  /** Byte offset of the line's start. */
  offset: number;
  /** True for a last line with no newline: a write that a crash cut short. */
  torn: boolean;
}

/** Streams a segment's lines from `start` (a byte offset at a line start), in big reads. */
export async function* readLines(file: string, start = 0, firstLineNo = 1): AsyncGenerator<Line> {
  const stream = fs.createReadStream(file, { start, highWaterMark: 1 << 20 });
  let carry: Buffer | undefined;
  let offset = start;
  let lineNo = firstLineNo;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const data = carry ? Buffer.concat([carry, chunk]) : chunk;
    let from = 0;
    for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
      yield { text: data.toString('utf8', from, nl), lineNo: lineNo++, offset, torn: false };
      offset += nl - from + 1;
      from = nl + 1;
    }
    carry = from < data.length ? data.subarray(from) : undefined;
  }
  if (carry && carry.length > 0) yield { text: carry.toString('utf8'), lineNo, offset, torn: true };
}

/** Streams a segment's complete lines from the end to the start (for newest-first queries). */
export async function* readLinesBackward(file: string, chunkSize = 1 << 16): AsyncGenerator<string> {
  // An unterminated last line is a torn write, not a record: start at the last newline.
  let position = (await readTail(file)).goodLength;
  const handle = await fs.promises.open(file, 'r');
  try {
    let leftover = Buffer.alloc(0); // the start of a line whose end (and newline) was already read
    while (position > 0) {
      const size = Math.min(chunkSize, position);
      position -= size;
      const chunk = Buffer.alloc(size);
      await handle.read(chunk, 0, size, position);
      const data = Buffer.concat([chunk, leftover]); // always ends with a newline
      let lineEnd = data.length - 1;
      while (lineEnd > 0) {
        const nl = data.lastIndexOf(10, lineEnd - 1);
        if (nl === -1) break;
        if (lineEnd > nl + 1) yield data.toString('utf8', nl + 1, lineEnd);
        lineEnd = nl;
      }
      leftover = Buffer.from(data.subarray(0, lineEnd + 1));
    }
    if (leftover.length > 1) yield leftover.toString('utf8', 0, leftover.length - 1);
  } finally {
    await handle.close();
  }
}

export interface Tail {
  /** Last complete line, if any. */
  lastLine: string | undefined;
  /** Byte length up to and including the last complete line. */
  goodLength: number;
  /** Bytes after it: a torn write. */
  tornBytes: number;
}

/** Finds the last complete line of a segment without reading the whole file. */
export async function readTail(file: string): Promise<Tail> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    let window = 1 << 16;
    for (;;) {
      const start = Math.max(0, size - window);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const lastNewline = buffer.lastIndexOf(10);
      if (lastNewline === -1 && start > 0) {
        window *= 4;
        continue;
      }
      if (lastNewline === -1) return { lastLine: undefined, goodLength: 0, tornBytes: size };
      const previousNewline = buffer.lastIndexOf(10, lastNewline - 1);
      if (previousNewline === -1 && start > 0) {
        window *= 4;
        continue;
      }
      return {
        lastLine: buffer.toString('utf8', previousNewline + 1, lastNewline),
        goodLength: start + lastNewline + 1,
        tornBytes: size - (start + lastNewline + 1),
      };
    }
  } finally {
    await handle.close();
  }
}
