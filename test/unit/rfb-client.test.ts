import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { RfbClient, type RfbRect } from '../../main/core/desktop/rfb-client.js';
import { AirlockError } from '../../main/core/errors.js';

// The RFB client's parser, fed (1) a byte stream recorded from the real x11vnc of the desktop
// image (a 160x100 screen: handshake, the first full update, a page turning red, the pointer
// moving) and (2) small streams built here for the messages and faults x11vnc rarely sends.

const RECORDED = zlib.gunzipSync(fs.readFileSync(path.join(import.meta.dirname, '../fixtures/rfb-160x100.bin.gz')));

interface Run {
  client: RfbClient;
  sent: Buffer[];
  updates: RfbRect[][];
  resizes: Array<[number, number]>;
  errors: AirlockError[];
  ready: Array<{ width: number; height: number; name: string }>;
}

function replay(bytes: Buffer, chunkSizes: () => number): Run {
  const run: Run = { client: undefined as unknown as RfbClient, sent: [], updates: [], resizes: [], errors: [], ready: [] };
  // One slice for everything: these tests are about the parse, not its slicing (below).
  run.client = new RfbClient({ write: (data) => run.sent.push(Buffer.from(data)) }, {
    onReady: (init) => run.ready.push(init),
    onUpdate: (rects) => run.updates.push(rects),
    onResize: (w, h) => run.resizes.push([w, h]),
    onError: (error) => run.errors.push(error),
  }, undefined, { sliceMs: Number.POSITIVE_INFINITY });
  for (let at = 0; at < bytes.length;) {
    const size = Math.max(1, chunkSizes());
    run.client.push(bytes.subarray(at, at + size));
    at += size;
  }
  return run;
}

/** A small deterministic PRNG, so a failing chunking can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

function pixel(client: RfbClient, x: number, y: number): number[] {
  const at = (y * client.width + x) * 4;
  return [...client.framebuffer.subarray(at, at + 4)];
}

describe('RfbClient held to the display task\'s own size', () => {
  it('refuses a server that announces a bigger screen than the task has (the X server is the agent\'s)', () => {
    const errors: AirlockError[] = [];
    const client = new RfbClient({ write: () => true }, { onError: (error) => errors.push(error) }, { width: 120, height: 100 });
    client.push(RECORDED); // a 160x100 screen
    expect(errors[0]?.message).toMatch(/announced a 160x100 screen \(at most 120x100 is accepted\)/);
    expect(client.framebuffer.length).toBe(0);
    const fits = new RfbClient({ write: () => true }, {}, { width: 160, height: 100 });
    fits.push(RECORDED);
    expect(fits.width).toBe(160);
  });
});

describe('RfbClient on a stream recorded from x11vnc', () => {
  const whole = replay(RECORDED, () => RECORDED.length);

  it('parses the handshake, the updates and the pixels', () => {
    expect(whole.errors).toEqual([]);
    expect(whole.ready).toEqual([{ width: 160, height: 100, name: 'sandbox:99' }]);
    expect(whole.updates[0]).toEqual([{ x: 0, y: 0, w: 160, h: 100 }]);
    expect(whole.updates.length).toBe(12);
    expect(whole.client.stats).toEqual({ bytesReceived: RECORDED.length, updates: 12, rects: 20 });
    // The page below Chromium's toolbar turned red; every pixel is opaque.
    expect(pixel(whole.client, 20, 95)).toEqual([255, 0, 0, 255]);
    const alphas = new Set<number>();
    for (let i = 3; i < whole.client.framebuffer.length; i += 4) alphas.add(whole.client.framebuffer[i]!);
    expect([...alphas]).toEqual([255]);
  });

  it('answers as an RFB 3.8 client: None security, shared, RGBA pixel format, three encodings', () => {
    const [version, security, clientInit, setup, ...requests] = whole.sent;
    expect(version!.toString('latin1')).toBe('RFB 003.008\n');
    expect([...security!]).toEqual([1]);
    expect([...clientInit!]).toEqual([1]);
    // SetPixelFormat: 32 bpp, depth 24, little-endian, true colour, max 255, shifts 0/8/16.
    expect([...setup!.subarray(0, 20)]).toEqual([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
    // SetEncodings: Raw, CopyRect, DesktopSize.
    expect([...setup!.subarray(20)]).toEqual([2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x21]);
    // The first request is for the whole screen, each later one incremental: one per update.
    expect([...requests[0]!]).toEqual([3, 0, 0, 0, 0, 0, 0, 160, 0, 100]);
    expect(requests.slice(1).map((r) => r[1])).toEqual(new Array(12).fill(1));
  });

  it.each([
    ['1-byte chunks', () => 1],
    ['7-byte chunks', () => 7],
    ['random chunks up to 64 bytes', ((r) => () => Math.ceil(r() * 64))(random(1))],
    ['random chunks up to 8 KB', ((r) => () => Math.ceil(r() * 8192))(random(2))],
  ])('gives the same result in %s', (_, chunks) => {
    const run = replay(RECORDED, chunks);
    expect(run.errors).toEqual([]);
    expect(run.updates).toEqual(whole.updates);
    expect(run.client.framebuffer.equals(whole.client.framebuffer)).toBe(true);
    expect(Buffer.concat(run.sent).equals(Buffer.concat(whole.sent))).toBe(true);
  });
});

// ---- synthetic server streams ----

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function handshake(width: number, height: number, name = 'test'): Buffer {
  const init = Buffer.alloc(24);
  init.writeUInt16BE(width, 0);
  init.writeUInt16BE(height, 2);
  init.writeUInt32BE(Buffer.byteLength(name), 20);
  return Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), u32(0), init, Buffer.from(name)]);
}

function rectHeader(x: number, y: number, w: number, h: number, encoding: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(x, 0);
  b.writeUInt16BE(y, 2);
  b.writeUInt16BE(w, 4);
  b.writeUInt16BE(h, 6);
  b.writeInt32BE(encoding, 8);
  return b;
}

/** A Raw rectangle whose pixel values encode their own position: R = x, G = y, B = tag. */
function raw(x: number, y: number, w: number, h: number, tag = 0): Buffer {
  const pixels = Buffer.alloc(w * h * 4);
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) pixels.set([x + col, y + row, tag, 0], (row * w + col) * 4);
  }
  return Buffer.concat([rectHeader(x, y, w, h, 0), pixels]);
}

function update(...rects: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0, 0]), u16(rects.length), ...rects]);
}

function fed(...parts: Buffer[]): Run {
  const bytes = Buffer.concat(parts);
  const whole = replay(bytes, () => bytes.length);
  const bytewise = replay(bytes, () => 1);
  expect(bytewise.updates).toEqual(whole.updates);
  expect(bytewise.errors.map((e) => e.message)).toEqual(whole.errors.map((e) => e.message));
  expect(bytewise.client.framebuffer.equals(whole.client.framebuffer)).toBe(true);
  return whole;
}

describe('RfbClient on built streams', () => {
  it('applies CopyRect in either direction, overlapping its source', () => {
    const full = raw(0, 0, 16, 16);
    // Down and right by 2 (source rows are overwritten as they are copied, unless copied bottom-up).
    const down = fed(handshake(16, 16), update(full), update(Buffer.concat([rectHeader(2, 2, 10, 10, 1), u16(0), u16(0)])));
    expect(down.errors).toEqual([]);
    for (const [x, y] of [[2, 2], [11, 11], [5, 9]] as const) expect(pixel(down.client, x, y)).toEqual([x - 2, y - 2, 0, 255]);
    expect(pixel(down.client, 1, 1)).toEqual([1, 1, 0, 255]);
    // Up and left by 3.
    const up = fed(handshake(16, 16), update(full), update(Buffer.concat([rectHeader(0, 0, 10, 10, 1), u16(3), u16(3)])));
    for (const [x, y] of [[0, 0], [9, 9], [4, 7]] as const) expect(pixel(up.client, x, y)).toEqual([x + 3, y + 3, 0, 255]);
    expect(up.updates[1]).toEqual([{ x: 0, y: 0, w: 10, h: 10 }]);
  });

  it('resizes on DesktopSize and asks for the new size', () => {
    const run = fed(handshake(16, 16), update(raw(0, 0, 16, 16)), update(rectHeader(0, 0, 32, 8, -223), raw(0, 0, 32, 8, 7)));
    expect(run.errors).toEqual([]);
    expect(run.resizes).toEqual([[32, 8]]);
    expect([run.client.width, run.client.height, run.client.framebuffer.length]).toEqual([32, 8, 32 * 8 * 4]);
    expect(pixel(run.client, 31, 7)).toEqual([31, 7, 7, 255]);
    expect(run.updates[1]).toEqual([{ x: 0, y: 0, w: 32, h: 8 }, { x: 0, y: 0, w: 32, h: 8 }]);
    expect([...run.sent.at(-1)!]).toEqual([3, 1, 0, 0, 0, 0, 0, 32, 0, 8]);
  });

  it('skips colour map entries, bells and clipboard text, in any chunking', () => {
    const colourMap = Buffer.concat([Buffer.from([1, 0]), u16(0), u16(2), Buffer.alloc(12, 9)]);
    const bell = Buffer.from([2]);
    const cutText = Buffer.concat([Buffer.from([3, 0, 0, 0]), u32(5000), Buffer.alloc(5000, 0x41)]);
    const run = fed(handshake(8, 8), colourMap, bell, cutText, update(raw(0, 0, 8, 8, 3)), bell);
    expect(run.errors).toEqual([]);
    expect(run.updates).toEqual([[{ x: 0, y: 0, w: 8, h: 8 }]]);
    expect(pixel(run.client, 7, 7)).toEqual([7, 7, 3, 255]);
  });

  it('an update with no rectangles is not reported, but the next request still goes out', () => {
    const run = fed(handshake(8, 8), update());
    expect(run.updates).toEqual([]);
    expect(run.client.stats.updates).toBe(1);
    expect(run.sent.at(-1)![1]).toBe(1);
  });

  it.each([
    ['a server that is not RFB', [Buffer.from('HTTP/1.1 400 \n')], /did not greet with an RFB version/],
    ['an RFB 3.3 server', [Buffer.from('RFB 003.003\n')], /speaks RFB 3\.3/],
    ['a refusal before security', [Buffer.from('RFB 003.008\n'), Buffer.from([0]), u32(8), Buffer.from('too many')], /refused the connection: too many/],
    ['no None security type', [Buffer.from('RFB 003.008\n'), Buffer.from([2, 2, 16])], /no security type "None" \(offered: 2, 16\)/],
    ['a failed security result', [Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), u32(1), u32(6), Buffer.from('denied')], /refused the security handshake: denied/],
    ['an absurd screen size', [handshake(10_000, 10)], /10000x10 screen/],
    ['an empty screen', [handshake(0, 10)], /0x10 screen/],
    ['an absurd DesktopSize', [handshake(8, 8), update(rectHeader(0, 0, 9000, 9000, -223))], /9000x9000 screen/],
    ['a rectangle outside the screen', [handshake(8, 8), update(raw(4, 4, 8, 8))], /raw rectangle 8x8 at 4,4 lies outside the 8x8 screen/],
    ['a copy from outside the screen', [handshake(8, 8), update(Buffer.concat([rectHeader(0, 0, 4, 4, 1), u16(6), u16(0)]))], /copy source/],
    ['an encoding not asked for', [handshake(8, 8), update(rectHeader(0, 0, 8, 8, 16))], /encoding 16, which was not asked for/],
    ['an unknown message type', [handshake(8, 8), Buffer.from([42])], /unknown server message type 42/],
    ['a huge desktop name', [Buffer.concat([handshake(8, 8).subarray(0, 12 + 2 + 4 + 20), u32(1 << 30)])], /desktop name is 1073741824 bytes/],
    ['clipboard text of a megabyte', [handshake(8, 8), Buffer.from([3, 0, 0, 0]), u32(2 * 1024 * 1024)], /clipboard text of 2097152 bytes/],
    ['more rectangles than the screen has tiles', [handshake(64, 64), Buffer.from([0, 0]), u16(257)], /over its budget: an update of 257 rectangles \(at most 256 on a 64x64 screen\)/],
    ['more raw pixels than twice the screen', [handshake(8, 8), update(raw(0, 0, 8, 8), raw(0, 0, 8, 8), raw(0, 0, 1, 1))], /over its budget: an update of more than 512 bytes of pixels/],
    ['copies of more than four screens', [handshake(8, 8), update(...Array.from({ length: 5 }, () => Buffer.concat([rectHeader(0, 0, 8, 8, 1), u16(0), u16(0)])))], /over its budget: an update that copies more than 256 pixels/],
  ])('refuses %s with a clear error, and ignores what follows', (_, parts, message) => {
    const run = fed(...parts, update(raw(0, 0, 1, 1)));
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toBeInstanceOf(AirlockError);
    expect(run.errors[0]!.message).toMatch(message);
    expect(run.updates).toEqual([]);
  });

  it('sends pointer and key events, clamped to the screen; refuses bad input', () => {
    const run = fed(handshake(100, 50));
    const before = run.sent.length;
    run.client.pointer(10.4, 20, 1);
    run.client.pointer(-5, 500, 0);
    run.client.key(0xff0d, true);
    run.client.key(0x61, false);
    expect(run.sent.slice(before).map((b) => [...b])).toEqual([
      [5, 1, 0, 10, 0, 20],
      [5, 0, 0, 0, 0, 49],
      [4, 1, 0, 0, 0, 0, 0xff, 0x0d],
      [4, 0, 0, 0, 0, 0, 0, 0x61],
    ]);
    expect(() => run.client.pointer(1, 1, 256)).toThrow(/bit mask/);
    expect(() => run.client.pointer(Number.NaN, 1, 0)).toThrow(/numbers/);
    expect(() => run.client.key(-1, true)).toThrow(/keysym/);
  });

  it('holds update requests back to requestIntervalMs, and sends a held one on demand', () => {
    vi.useFakeTimers();
    try {
      const run = fed(handshake(8, 8));
      run.client.requestIntervalMs = 200;
      const requests = () => run.sent.filter((b) => b[0] === 3).length;
      expect(requests()).toBe(1); // the first, full request
      run.client.push(update(raw(0, 0, 8, 8)));
      expect(requests()).toBe(1);
      vi.advanceTimersByTime(200);
      expect(requests()).toBe(2);
      run.client.push(update(raw(0, 0, 1, 1)));
      expect(requests()).toBe(2);
      expect(run.client.flushRequest()).toBe(true);
      expect(requests()).toBe(3);
      expect(run.client.flushRequest()).toBe(false);
      run.client.push(update(raw(0, 0, 1, 1)));
      run.client.requestIntervalMs = 0; // watched again: the held request goes out at once
      expect(requests()).toBe(4);
      run.client.push(update(raw(0, 0, 1, 1)));
      expect(requests()).toBe(5);
      run.client.stop();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores input before the handshake is done', () => {
    const run = replay(Buffer.from('RFB 003.008\n'), () => 12);
    const before = run.sent.length;
    run.client.pointer(1, 1, 1);
    run.client.key(0x61, true);
    expect(run.sent.length).toBe(before);
  });
});

describe('RfbClient on a hostile stream', () => {
  /** A clock that moves 1 ms each time it is read: a slice of 8 ms is 8 readings. */
  function tickingClock(): () => number {
    let now = 0;
    return () => (now += 1);
  }

  it('parses a big update in slices that yield to the event loop, with the same result', async () => {
    const bytes = Buffer.concat([handshake(64, 64), update(...Array.from({ length: 64 }, (_, y) => raw(0, y, 64, 1, 5)))]);
    const updates: RfbRect[][] = [];
    const client = new RfbClient({ write: () => true }, { onUpdate: (rects) => updates.push(rects) }, undefined, { now: tickingClock(), cpuMaxMs: 1e9 });
    client.push(bytes);
    expect(updates).toEqual([]); // the first slice ran out of time before the update was done
    // Something else queued on the event loop now runs between the slices, before the update is done.
    let ranBetween = false;
    setImmediate(() => (ranBetween = updates.length === 0));
    await client.idle();
    expect(ranBetween).toBe(true);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toHaveLength(64);
    expect(pixel(client, 63, 63)).toEqual([63, 63, 5, 255]);
  });

  it('ends a session whose parsing takes more than its CPU budget', async () => {
    const errors: AirlockError[] = [];
    const client = new RfbClient({ write: () => true }, { onError: (error) => errors.push(error) }, undefined, { now: tickingClock(), cpuWindowMs: 10_000, cpuMaxMs: 200 });
    client.push(handshake(64, 64));
    for (let i = 0; i < 40 && errors.length === 0; i++) {
      client.push(update(...Array.from({ length: 16 }, (_, y) => raw(0, y, 64, 1))));
      await client.idle();
    }
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/over its budget: parsing it took \d+ ms of Airlock's CPU within 10 s \(at most 200 ms\)/)]);
    expect(client.ready).toBe(false);
  });

  it('asks its source to pause past the backlog budget, says when to resume, and ends a source that does not pause', async () => {
    let drained = 0;
    const errors: AirlockError[] = [];
    const client = new RfbClient({ write: () => true }, { onDrain: () => (drained += 1), onError: (error) => errors.push(error) }, undefined,
      { now: tickingClock(), cpuMaxMs: 1e9, backlogHighBytes: 4096, backlogMaxBytes: 16_384 });
    client.push(handshake(64, 64));
    const big = update(...Array.from({ length: 64 }, (_, y) => raw(0, y, 64, 1)));
    expect(client.push(big.subarray(0, 6000))).toBe(false);
    await client.idle();
    expect(drained).toBe(1);
    expect(client.push(big.subarray(6000))).toBe(false);
    // A source that keeps pushing regardless.
    for (let i = 0; i < 20 && errors.length === 0; i++) client.push(Buffer.alloc(4096));
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/arrived faster than they could be read \(at most 16384 may wait\)/)]);
  });
});
