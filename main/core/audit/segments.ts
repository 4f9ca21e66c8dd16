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

/**
 * No record Airlock writes comes near this; a longer "line" is bytes someone else put in the file.
 * It is yielded with empty text (not a record: it fails to parse, so readers report it), and no
 * reader holds more than this of one line in memory.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Streams a segment's lines from `start` (a byte offset at a line start), in big reads. */
export async function* readLines(file: string, start = 0, firstLineNo = 1, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<Line> {
  const stream = fs.createReadStream(file, { start, highWaterMark: 1 << 20 });
  let carry: Buffer | undefined;
  /** The file offset of the data being scanned (carry first), and of the line being read. */
  let position = start;
  let lineOffset = start;
  /** The line being read is past maxLineBytes: its bytes are dropped until its newline. */
  let overlong = false;
  let lineNo = firstLineNo;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const data = carry ? Buffer.concat([carry, chunk]) : chunk;
    let from = 0;
    for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
      const text = overlong || nl - from > maxLineBytes ? '' : data.toString('utf8', from, nl);
      yield { text, lineNo: lineNo++, offset: lineOffset, torn: false };
      lineOffset = position + nl + 1;
      from = nl + 1;
      overlong = false;
    }
    position += from;
    carry = from < data.length ? data.subarray(from) : undefined;
    if (carry && carry.length > maxLineBytes) {
      overlong = true;
      position += carry.length;
      carry = undefined;
    }
  }
  if (overlong) yield { text: '', lineNo, offset: lineOffset, torn: true };
  else if (carry && carry.length > 0) yield { text: carry.toString('utf8'), lineNo, offset: lineOffset, torn: true };
}

/** Streams a segment's complete lines from the end to the start (for newest-first queries). */
export async function* readLinesBackward(file: string, chunkSize = 1 << 16, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<string> {
  // An unterminated last line is a torn write, not a record: start at the last newline.
  let position = (await readTail(file)).goodLength;
  const handle = await fs.promises.open(file, 'r');
  try {
    let leftover = Buffer.alloc(0); // the start of a line whose end (and newline) was already read
    // The line being read is past maxLineBytes: its bytes are dropped until the newline before it.
    let overlong = false;
    while (position > 0) {
      const size = Math.min(chunkSize, position);
      position -= size;
      const chunk = Buffer.alloc(size);
      await handle.read(chunk, 0, size, position);
      const data = Buffer.concat([chunk, leftover]); // always ends with a newline (or the dropped part of an overlong line)
      let lineEnd = overlong ? data.length : data.length - 1;
      while (lineEnd > 0) {
        const nl = data.lastIndexOf(10, lineEnd - 1);
        if (nl === -1) break;
        if (overlong) yield '';
        else if (lineEnd > nl + 1) yield lineEnd - nl - 1 > maxLineBytes ? '' : data.toString('utf8', nl + 1, lineEnd);
        overlong = false;
        lineEnd = nl;
      }
      leftover = Buffer.from(data.subarray(0, overlong ? 0 : lineEnd + 1));
      if (leftover.length > maxLineBytes) {
        overlong = true;
        leftover = Buffer.alloc(0);
      }
    }
    if (overlong) yield '';
    else if (leftover.length > 1) yield leftover.toString('utf8', 0, leftover.length - 1);
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

/**
 * Finds the last complete line of a segment without reading the whole file, in constant memory
 * whatever follows it (a torn tail of any size); a last line longer than MAX_LINE_BYTES is given
 * as empty text (not a record).
 */
export async function readTail(file: string): Promise<Tail> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const lastNewline = await newlineBefore(handle, size, size);
    if (lastNewline === -1) return { lastLine: undefined, goodLength: 0, tornBytes: size };
    const previousNewline = await newlineBefore(handle, lastNewline, MAX_LINE_BYTES + 1);
    const lineStart = previousNewline + 1;
    // No newline within reach and the file goes back further: the last line is longer than any record.
    const overlong = previousNewline === -1 && lastNewline > MAX_LINE_BYTES;
    let lastLine = '';
    if (!overlong) {
      const buffer = Buffer.alloc(lastNewline - lineStart);
      await handle.read(buffer, 0, buffer.length, lineStart);
      lastLine = buffer.toString('utf8');
    }
    return { lastLine, goodLength: lastNewline + 1, tornBytes: size - (lastNewline + 1) };
  } finally {
    await handle.close();
  }
}

/** The offset of the last newline before `end`, looking back at most `within` bytes; -1 if none. */
async function newlineBefore(handle: fs.promises.FileHandle, end: number, within: number): Promise<number> {
  const chunk = Buffer.alloc(1 << 16);
  const stop = Math.max(0, end - within);
  for (let to = end; to > stop;) {
    const from = Math.max(stop, to - chunk.length);
    await handle.read(chunk, 0, to - from, from);
    const at = chunk.subarray(0, to - from).lastIndexOf(10);
    if (at !== -1) return from + at;
    to = from;
  }
  return -1;
}
