import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import type { BackendContainer } from '../../main/core/engine/backend.js';
import { startTaskDesktop } from '../../main/core/tasks/task-desktop.js';
import { tempDir, waitFor } from '../helpers/env.js';

// Hostile RFB bytes against the real live-view code (startTaskDesktop → KeptScreen → ScreenSession
// → RfbClient): the "container" is a stand-in whose exec stream is a socket to a hostile server
// process (screen-rfb-server.mjs), which plays one attack per session. While it floods, this
// process must stay responsive — its timers tick and an HTTP server in it answers, as the gateway
// and the audit writer share this event loop — its memory stays bounded, and each attack ends its
// session with a `screen.lost` violation that says why.

const ATTACKS = ['rects', 'copies', 'bytes', 'endless'];
let server: ChildProcess;
let socketPath: string;

beforeAll(async () => {
  socketPath = path.join(tempDir(), 'rfb.sock');
  server = fork(path.join(import.meta.dirname, 'screen-rfb-server.mjs'), [socketPath, ATTACKS.join(',')], { stdio: 'ignore' });
  await new Promise((resolve) => server.once('message', resolve));
});
afterAll(() => {
  server.kill();
});

/** A running container as far as the live view can tell; each exec is a new connection to the hostile server. */
const container = {
  exec: async () => net.connect(socketPath),
  state: async () => ({ running: true, paused: false, exitCode: 0, oomKilled: false }),
} as unknown as BackendContainer;

describe('a hostile RFB stream', () => {
  it('floods of rectangles, copies, bytes and updates never stall Airlock: each ends its session with a reason, memory stays bounded', async () => {
    // The event loop's pulse: a 20 ms timer, and an HTTP request every 100 ms to a server in this process.
    let maxLagMs = 0;
    let last = performance.now();
    const pulse = setInterval(() => {
      const now = performance.now();
      maxLagMs = Math.max(maxLagMs, now - last - 20);
      last = now;
    }, 20);
    const web = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const latencies: number[] = [];
    let failedRequests = 0;
    const asking = setInterval(() => {
      const sent = performance.now();
      http.get({ host: '127.0.0.1', port: (web.address() as net.AddressInfo).port, agent: false }, (res) => {
        res.resume().on('end', () => latencies.push(performance.now() - sent));
      }).on('error', () => (failedRequests += 1));
    }, 100);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const memory = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);

    const events: { kind: string; data: Record<string, unknown> }[] = [];
    const desktop = startTaskDesktop({
      container, task: 'hostile-rfb', agent: { name: 'hostile-rfb', digest: 'test' }, display: { width: 640, height: 400, screenshotEveryMs: 0 },
      taskDir: tempDir(), clock: systemClock, screens: undefined, emit: (kind, data) => events.push({ kind, data }),
      timing: { firstRetryMs: 100, maxRetryMs: 100, endGraceMs: 10 },
      // A tenth of the default CPU window and half its share, so the endless stream is ended in a second or two.
      budget: { cpuWindowMs: 1_000, cpuMaxMs: 200 },
    });
    const lost = () => events.filter((e) => e.kind === 'policy.violation' && e.data.rule === 'screen.lost');
    try {
      await waitFor(async () => (lost().length >= ATTACKS.length && events.filter((e) => e.kind === 'screen.started').length > ATTACKS.length) || undefined,
        'every attack ended and the honest screen opened', 60_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // the honest screen keeps streaming
    } finally {
      await desktop.stop();
      clearInterval(pulse);
      clearInterval(asking);
      clearInterval(memory);
      web.close();
    }

    // Each attack ended its own session, named.
    expect(lost().map((e) => String(e.data.reason))).toEqual([
      expect.stringMatching(/over its budget: an update of 65535 rectangles \(at most 1000 on a 640x400 screen\)/),
      expect.stringMatching(/over its budget: an update that copies more than 1024000 pixels/),
      expect.stringMatching(/over its budget: an update of more than 2048000 bytes of pixels/),
      expect.stringMatching(/over its budget: parsing it took \d+ ms of Airlock's CPU within 1 s \(at most 200 ms\)/),
    ]);
    // The honest screen after them was shown, whole.
    expect(events.filter((e) => e.kind === 'screen.started').at(-1)!.data).toMatchObject({ width: 640, height: 400, reopened: ATTACKS.length });
    expect(events.filter((e) => e.kind === 'screen.capture').at(-1)?.data).toMatchObject({ reason: 'final', width: 640, height: 400 });

    // Airlock stayed responsive throughout: timers on time, every request answered quickly (the
    // margins allow for a busy machine; without the slices one flood alone holds the loop for seconds).
    expect(maxLagMs).toBeLessThan(500);
    expect(failedRequests).toBe(0);
    expect(latencies.length).toBeGreaterThan(10);
    expect(Math.max(...latencies)).toBeLessThan(750);
    // And its memory stayed bounded while the server pushed hundreds of megabytes (garbage not yet collected included).
    expect(peak - baseline).toBeLessThan(128 * 1024 ** 2);
  }, 90_000);
});
