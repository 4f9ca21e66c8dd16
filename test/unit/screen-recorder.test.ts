import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScreenRecorder } from '../../main/core/desktop/screen-recorder.js';
import type { LiveScreen, ScreenshotInfo } from '../../main/core/desktop/types.js';
import { tempDir } from '../helpers/env.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A 10×10 screen that is different at every look, with PNGs of a chosen size. */
function changingScreen(clock: ManualClock, pngBytes: number): LiveScreen {
  let n = 0;
  return {
    width: 10, height: 10,
    watch: () => () => undefined,
    capture: async () => {
      n += 1;
      const png = Buffer.alloc(pngBytes, 0);
      png.writeUInt32BE(n, 0);
      return { png, width: 10, height: 10 };
    },
    lastChangeAt: () => clock.now(),
    input: () => undefined,
    close: () => undefined,
  };
}

function record(limits: { maxShots?: number; maxBytes?: number }, pngBytes: number) {
  const clock = new ManualClock();
  const taskDir = tempDir();
  const shots: Omit<ScreenshotInfo, 'time'>[] = [];
  const limitEvents: { reason: string }[] = [];
  const recorder = new ScreenRecorder({
    screen: changingScreen(clock, pngBytes), taskDir, clock, everyMs: 1_000, ...limits,
    emit: (info) => shots.push(info), onLimit: (info) => limitEvents.push(info),
  });
  return { clock, taskDir, shots, limitEvents, recorder };
}

describe('screenshots of a screen that never stops changing', () => {
  it('stop at the count cap, with one event, keeping room for the last screen', async () => {
    const { clock, taskDir, shots, limitEvents, recorder } = record({ maxShots: 5 }, 100);
    recorder.start();
    await clock.advance(60_000);
    await recorder.stop();
    expect(shots.map((s) => s.reason)).toEqual(['start', 'interval', 'interval', 'interval', 'final']);
    expect(limitEvents).toEqual([expect.objectContaining({ reason: expect.stringMatching(/^screenshot limit reached \(5 screenshots/) })]);
    expect(fs.readdirSync(path.join(taskDir, 'screens'))).toHaveLength(5);
  });

  it('stop at the bytes cap, the last screen included', async () => {
    // Each PNG is 1,000 bytes; the reserve for the last screen is 10×10×4 + 1 KiB.
    const { clock, taskDir, shots, limitEvents, recorder } = record({ maxBytes: 10_000 }, 1_000);
    recorder.start();
    for (let i = 0; i < 50; i++) recorder.navigated(`https://storm.test/${i}`);
    await clock.advance(60_000);
    await recorder.stop();
    const bytes = fs.readdirSync(path.join(taskDir, 'screens')).reduce((sum, f) => sum + fs.statSync(path.join(taskDir, 'screens', f)).size, 0);
    expect(bytes).toBeLessThanOrEqual(10_000);
    expect(shots.at(-1)!.reason).toBe('final');
    expect(shots.length).toBe(9);
    expect(limitEvents).toHaveLength(1);
  });
});
