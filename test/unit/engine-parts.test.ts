import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineEndpoint } from '../../main/core/server/endpoint.js';
import { engineLog } from '../../main/core/server/engine-log.js';
import { idleFromEnv } from '../../main/core/server/engine-server.js';
import { IdleExit, type IdleTimers } from '../../main/core/server/idle.js';
import { decodeMessage, encodeMessage, LineSplitter } from '../../main/core/server/wire.js';
import { tempDir } from '../helpers/env.js';

describe('the wire', () => {
  it('carries byte arrays as {$bytes} both ways', () => {
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const text = encodeMessage({ push: 'screen', payload: { png: bytes, buffer: Buffer.from('hi') } });
    expect(text).toContain('"$bytes"');
    const back = decodeMessage(text) as { payload: { png: Uint8Array; buffer: Uint8Array } };
    expect([...back.payload.png]).toEqual([...bytes]);
    expect(Buffer.from(back.payload.buffer).toString()).toBe('hi');
  });

  it('splits lines across chunks and stops at the first line over the bound', () => {
    const lines: string[] = [];
    let overflows = 0;
    const splitter = new LineSplitter(8, (line) => lines.push(line), () => (overflows += 1));
    splitter.push(Buffer.from('ab'));
    splitter.push(Buffer.from('c\n\nde\nfg'));
    splitter.push(Buffer.from('h\n'));
    expect(lines).toEqual(['abc', 'de', 'fgh']);
    splitter.push(Buffer.from('123456789'));
    splitter.push(Buffer.from('\nlater\n'));
    expect(overflows).toBe(1);
    expect(lines).toEqual(['abc', 'de', 'fgh']);
  });
});

/** Timers a test fires by hand. */
function manualTimers() {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let next = 0;
  const timers: IdleTimers = {
    setTimeout: (callback, ms) => (pending.set(++next, { callback, ms }), next),
    clearTimeout: (handle) => pending.delete(handle as number),
  };
  const fire = () => {
    const due = [...pending.entries()];
    pending.clear();
    for (const [, timer] of due) timer.callback();
  };
  return { timers, pending, fire };
}

describe('idle exit', () => {
  it('fires after the idle period with no client and no task, and not while either remains', () => {
    const clock = manualTimers();
    let busy = true;
    let exits = 0;
    const idle = new IdleExit({ idleMs: 600_000, isIdle: () => !busy, onIdle: () => (exits += 1), timers: clock.timers });
    idle.check();
    expect(clock.pending.size).toBe(0);
    busy = false;
    idle.check();
    expect([...clock.pending.values()].map((t) => t.ms)).toEqual([600_000]);
    busy = true;
    idle.check();
    expect(clock.pending.size).toBe(0);
    busy = false;
    idle.check();
    clock.fire();
    expect(exits).toBe(1);
    idle.check();
    clock.fire();
    expect(exits).toBe(1);
  });

  it('0 is never; retire leaves as soon as idle', () => {
    const clock = manualTimers();
    let exits = 0;
    const never = new IdleExit({ idleMs: 0, isIdle: () => true, onIdle: () => (exits += 1), timers: clock.timers });
    never.check();
    expect(clock.pending.size).toBe(0);
    const retiring = new IdleExit({ idleMs: 600_000, isIdle: () => true, onIdle: () => (exits += 1), timers: clock.timers });
    retiring.retire();
    expect([...clock.pending.values()].map((t) => t.ms)).toEqual([1]);
    clock.fire();
    expect(exits).toBe(1);
  });

  it('AIRLOCK_ENGINE_IDLE is a duration or 0; anything else is refused', () => {
    expect(idleFromEnv({})).toBe(600_000);
    expect(idleFromEnv({ AIRLOCK_ENGINE_IDLE: '30s' })).toBe(30_000);
    expect(idleFromEnv({ AIRLOCK_ENGINE_IDLE: '0' })).toBe(0);
    expect(() => idleFromEnv({ AIRLOCK_ENGINE_IDLE: 'soon' })).toThrow(/not a duration/);
  });
});

describe('the endpoint', () => {
  const host = { platform: 'linux' as const, uid: 1000, tmpdir: '/tmp', user: 'ada' };
  it('is engine.sock in the home when it fits sun_path, else a per-user folder named after the home', () => {
    expect(engineEndpoint('/home/ada/.config/airlock', {}, host).socket).toBe('/home/ada/.config/airlock/engine.sock');
    const deep = `/home/ada/${'d'.repeat(120)}`;
    const fallback = engineEndpoint(deep, {}, host);
    expect(fallback.socket).toMatch(/^\/tmp\/airlock-1000\/[0-9a-f]{16}\.sock$/);
    expect(fallback.folder).toBe('/tmp/airlock-1000');
    expect(engineEndpoint(deep, { XDG_RUNTIME_DIR: '/run/user/1000' }, host).socket).toMatch(/^\/run\/user\/1000\/airlock\/[0-9a-f]{16}\.sock$/);
    expect(fallback.lock).toBe(path.join(deep, 'engine.lock'));
  });

  it('is a named pipe per user and home on Windows', () => {
    expect(engineEndpoint('C:\\Users\\ada\\airlock', {}, { ...host, platform: 'win32' }).socket).toMatch(/^\\\\\.\\pipe\\airlock-ada-[0-9a-f]{16}$/);
  });
});

describe('the engine log', () => {
  it('is rotated in place past its bound (engine.log.1 holds the previous part)', () => {
    const file = path.join(tempDir(), 'engine.log');
    const fd = fs.openSync(file, 'a');
    try {
      const log = engineLog(file, { fd, maxBytes: 100, now: () => new Date(0) });
      for (let i = 0; i < 10; i++) log(`line ${i} ${'x'.repeat(20)}`);
      expect(fs.statSync(file).size).toBeLessThan(100 + 60); // the bound, plus at most one line
      expect(fs.readFileSync(`${file}.1`, 'utf8')).toMatch(/line \d/);
      expect(fs.readFileSync(file, 'utf8')).toMatch(/line 9/);
    } finally {
      fs.closeSync(fd);
    }
  });
});
