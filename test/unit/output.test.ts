import { describe, expect, it } from 'vitest';
import { BoundedOutput, type OutputLimits, type StreamName } from '../../main/core/engine/output.js';

function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const payload = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function feed(chunks: Buffer[], limits?: Partial<OutputLimits>) {
  const got: { stream: StreamName; text: string; cut: number }[] = [];
  let exceeded = 0;
  const output = new BoundedOutput(
    { line: (stream, text, cut) => got.push({ stream, text, cut }), budgetExceeded: () => exceeded++ },
    { maxLineBytes: 16 * 1024, maxLines: 1000, maxBytes: 1024 * 1024, ...limits },
  );
  for (const chunk of chunks) await new Promise<void>((resolve, reject) => output.write(chunk, (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve) => output.end(resolve));
  return { got, exceeded, totals: output.totals };
}

describe('agent output', () => {
  it('splits the engine\'s multiplexed stream into stdout and stderr lines', async () => {
    const { got } = await feed([frame(1, 'one\ntw'), frame(2, 'warn\n'), frame(1, 'o\r\nlast without newline')]);
    expect(got).toEqual([
      { stream: 'stdout', text: 'one', cut: 0 },
      { stream: 'stderr', text: 'warn', cut: 0 },
      { stream: 'stdout', text: 'two', cut: 0 },
      { stream: 'stdout', text: 'last without newline', cut: 0 },
    ]);
  });

  it('handles frame headers and payloads split across reads, byte by byte', async () => {
    const bytes = Buffer.concat([frame(1, 'héllo\n'), frame(2, 'bye\n')]);
    const { got } = await feed([...bytes].map((b) => Buffer.from([b])));
    expect(got.map((g) => `${g.stream}:${g.text}`)).toEqual(['stdout:héllo', 'stderr:bye']);
  });

  it('cuts an over-long line and says how much was cut', async () => {
    const { got } = await feed([frame(1, `${'x'.repeat(100)}\nshort\n`)], { maxLineBytes: 10 });
    expect(got).toEqual([{ stream: 'stdout', text: 'x'.repeat(10), cut: 90 }, { stream: 'stdout', text: 'short', cut: 0 }]);
  });

  it('cuts at a character, never inside one, and counts the bytes of a character cut in two', async () => {
    const { got } = await feed([frame(1, `${'x'.repeat(9)}Üabc\n`)], { maxLineBytes: 10 }); // Ü is two bytes: the 10th and 11th
    expect(got).toEqual([{ stream: 'stdout', text: 'x'.repeat(9), cut: 5 }]);
  });

  it('past the budget, drains and counts instead of recording, and says so once', async () => {
    const many = Array.from({ length: 50 }, (_, i) => frame(1, `line ${i}\n`));
    const { got, exceeded, totals } = await feed(many, { maxLines: 10 });
    expect(got).toHaveLength(10);
    expect(exceeded).toBe(1);
    // line 10 is refused as a line (7 bytes), the next 39 are drained whole (8 bytes each, newline included)
    expect(totals.droppedBytes).toBe(7 + 39 * 8);
  });

  it('keeps memory flat on a huge line without newlines', async () => {
    const chunk = frame(1, Buffer.alloc(1024 * 1024, 'a'));
    const before = process.memoryUsage().arrayBuffers;
    const { got, totals } = await feed(Array.from({ length: 64 }, () => chunk), { maxLineBytes: 1024, maxBytes: 10 * 1024 ** 3 });
    expect(got).toEqual([{ stream: 'stdout', text: 'a'.repeat(1024), cut: 64 * 1024 * 1024 - 1024 }]);
    expect(totals.droppedBytes).toBe(0);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });
});
