import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { installLastResort } from '../../main/core/tasks/last-resort.js';
import { LiveTasks, type LiveTask } from '../../main/core/tasks/live-tasks.js';

function liveTask(name: string, onViolation: LiveTask['onViolation'], log: string[]): LiveTask {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    task: name, agent: { name, digest: '' }, onViolation, done,
    stop: (rule, reason) => {
      log.push(`${name} stopped (${rule}): ${reason}`);
      setTimeout(finish, 5); // its sandbox is torn down a moment later
    },
    freeze: (rule, reason) => log.push(`${name} frozen (${rule}): ${reason}`),
  };
}

describe('the process-level last resort', () => {
  it('an uncaught exception stops every task (waiting for their teardown), flushes the trail, then exits 70', async () => {
    const emitter = new EventEmitter();
    const proc = emitter as unknown as NodeJS.Process;
    const live = new LiveTasks();
    const log: string[] = [];
    live.add(liveTask('a', 'log', log));
    live.add(liveTask('b', 'freeze', log));
    const exited = new Promise<number>((resolve) => installLastResort({
      process: proc, live, report: (text) => log.push(text.split('\n')[0]!),
      flush: async () => void log.push('flushed'), exit: resolve,
    }));
    emitter.emit('uncaughtException', new Error('boom'));
    emitter.emit('unhandledRejection', new Error('again')); // the first one decides
    expect(await exited).toBe(70);
    expect(log).toEqual([
      'airlock: internal error (uncaught exception): Error: boom',
      'a stopped (airlock.internal): Airlock hit an internal error and stopped its tasks: boom',
      'b stopped (airlock.internal): Airlock hit an internal error and stopped its tasks: boom',
      'airlock: internal error (unhandled rejection): Error: again',
      'flushed',
    ]);
  });

  it('the audit trail failing stops tasks, and freezes those whose onViolation is freeze', () => {
    const live = new LiveTasks();
    const log: string[] = [];
    live.add(liveTask('a', 'stop', log));
    live.add(liveTask('b', 'freeze', log));
    live.haltAll('audit.unwritable', 'disk full');
    expect(log).toEqual(['a stopped (audit.unwritable): disk full', 'b frozen (audit.unwritable): disk full']);
  });
});

describe('the system clock', () => {
  afterEach(() => vi.useRealTimers());

  it('fires a long timer at once after the machine slept through its time (wall clock, not uptime)', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const fired: number[] = [];
    systemClock.setTimeout(() => fired.push(Date.now()), 10 * 60_000);
    vi.advanceTimersByTime(5_000);
    expect(fired).toEqual([]);
    // An hour of sleep: the wall clock jumps, the monotonic timers barely move.
    vi.setSystemTime(Date.now() + 60 * 60_000);
    vi.advanceTimersByTime(1_000);
    expect(fired).toHaveLength(1);
  });

  it('does not fire early, and can be cancelled', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const fired: string[] = [];
    systemClock.setTimeout(() => fired.push('a'), 2_500);
    const b = systemClock.setTimeout(() => fired.push('b'), 2_500);
    vi.advanceTimersByTime(2_499);
    b.cancel();
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
  });
});
