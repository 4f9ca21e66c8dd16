import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { ScreenRegistry } from '../../main/core/desktop/screen-registry.js';
import type { ScreenFrame } from '../../main/core/desktop/types.js';
import { LABEL } from '../../main/core/engine/engine.js';
import { sandboxContainerOptions } from '../../main/core/engine/hardening.js';
import { DESKTOP_IMAGE } from '../../main/core/engine/images.js';
import { currentOwner } from '../../main/core/tasks/owner.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { desktopCommand, startTaskDesktop } from '../../main/core/tasks/task-desktop.js';
import { harness, REPO, specFrom, tempDir, waitFor } from '../helpers/env.js';

/** Opens a page of one colour in the sandbox's browser (through its DevTools endpoint, as an agent would). */
const paint = (colour: string) => `curl -s -X PUT 'http://127.0.0.1:9222/json/new?data:text/html,%3Cbody%20style%3Dbackground%3A${colour}%3E' >/dev/null`;

// A display agent in the real desktop image that tries to switch off its own recording: it plants
// an ~/.x11vncrc that would shrink what the live view and the screenshots see to 16×16 pixels, then
// kills the screen's helpers (they run as its own user) in a loop, then stops one with SIGSTOP.
describe('a display agent attacking its own recording', () => {
  it('cannot configure the screen\'s helpers, and killing or stopping them is a violation; the screen is re-opened and screenshots keep coming', async () => {
    const h = harness();
    const screens = new ScreenRegistry(h.bus);
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, screens });
    const script = [
      'echo "clip 16x16+0+0" > "$HOME/.x11vncrc"',
      paint('red'), 'sleep 2',
      'for i in 1 2 3 4 5 6 7 8 9 10; do pkill -x x11vnc; sleep 0.5; done', 'echo killed',
      'sleep 10', paint('blue'), 'sleep 3',
      'pkill -STOP -x x11vnc', 'echo stopped', 'sleep 18',
      paint('green'), 'sleep 4', 'echo done',
    ].join('; ');
    const spec = specFrom(h.root, `name: recording-killer\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ndisplay: { width: 1280, height: 800, screenshotEvery: 1s }\ntimeout: 3m\n`);
    const running = runner.run(spec);
    const task = await waitFor(async () => h.events.find((e) => e.kind === 'task.created')?.task, 'the task');
    await waitFor(async () => screens.has(task) || undefined, 'the live screen', 60_000);
    const frames: ScreenFrame[] = [];
    const stopWatching = screens.watch(task, (frame) => frames.push(frame));
    const outcome = await running;
    stopWatching();
    expect(outcome.exitCode).toBe(0);
    const events = h.events.filter((e) => e.task === task);
    const at = (e: { time: string }) => Date.parse(e.time);

    // Each cut is a violation, named; killing in a loop did not make Airlock spin.
    const lost = events.filter((e) => e.kind === 'policy.violation' && e.data.rule === 'screen.lost');
    expect(lost.length).toBeGreaterThanOrEqual(2);
    expect(lost.map((e) => String(e.data.reason))).toContainEqual(expect.stringMatching(/stopped answering/));
    const started = events.filter((e) => e.kind === 'screen.started');
    expect(started.length).toBeLessThanOrEqual(lost.length + 4);

    // Every session showed the whole screen: the planted ~/.x11vncrc was never read.
    const opened = started.filter((e) => e.data.error === undefined); // (a kill during a handshake is a failed open, retried)
    expect(opened.map((e) => [e.data.width, e.data.height])).toEqual(Array(lost.length + 1).fill([1280, 800]));
    expect(opened.at(-1)!.data.reopened).toBe(lost.length);

    // After the last cut, the screenshots kept coming, of the whole screen, and the live view got frames again.
    const lastLoss = at(lost.at(-1)!);
    const after = events.filter((e) => e.kind === 'screen.capture' && at(e) > lastLoss);
    expect(after.length).toBeGreaterThanOrEqual(1);
    expect(after.every((e) => e.data.width === 1280 && e.data.height === 800)).toBe(true);
    expect(frames.some((f) => f.at > lastLoss && f.width === 1280)).toBe(true);
    expect(events.map((e) => e.kind)).toContain('task.destroyed');
  }, 180_000);

  it('an agent whose screen never stops changing, with a storm of page loads, fills at most the screenshot caps', async () => {
    const { engine } = harness();
    const name = `airlock-screen-caps-${process.pid}-${Date.now().toString(36)}`;
    // The agent: a page that changes colour ten times a second, for good.
    const page = encodeURIComponent('<body><script>setInterval(() => { document.body.style.background = `hsl(${Date.now() % 360},90%,50%)`; }, 100)</script>');
    const container = await engine.api.createContainer(sandboxContainerOptions({
      name, image: DESKTOP_IMAGE, workdir: '/workspace', workspace: { volume: name, sizeBytes: 64 * 1024 ** 2 }, display: true, sidecar: undefined,
      command: desktopCommand(['sh', '-c', `curl -s -X PUT 'http://127.0.0.1:9222/json/new?data:text/html,${page}' >/dev/null; sleep 300`], path.join(REPO, 'assets')),
      env: { AIRLOCK_DISPLAY: '640x400' }, limits: { cpus: 2, memoryBytes: 1024 ** 3, pids: 1024 },
      labels: { [LABEL.task]: name, [LABEL.agent]: 'screen-caps', [LABEL.digest]: 'test', [LABEL.owner]: currentOwner() },
    }));
    const events: { kind: AirlockEvent['kind']; data: Record<string, unknown> }[] = [];
    const taskDir = tempDir();
    try {
      await container.start();
      const maxBytes = 640 * 400 * 4 + 1024 + 150_000; // the last screen's room, and a few screenshots
      const desktop = startTaskDesktop({
        container, task: name, agent: { name: 'screen-caps', digest: 'test' }, display: { width: 640, height: 400, screenshotEveryMs: 1_000 },
        taskDir, clock: systemClock, screens: undefined, emit: (kind, data) => events.push({ kind, data }), limits: { maxShots: 8, maxBytes },
      });
      await waitFor(async () => events.find((e) => e.kind === 'screen.capture'), 'the first screenshot', 60_000);
      for (let i = 0; i < 200; i++) desktop.navigated(`https://storm.test/${i}`);
      await waitFor(async () => events.find((e) => e.kind === 'output.truncated'), 'the screenshot cap', 30_000);
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // more changes and page loads, past the cap
      await desktop.stop();
    } finally {
      await container.remove({ force: true, v: true });
      await engine.api.getVolume(name).remove({ force: true }).catch(() => undefined);
    }
    const shots = events.filter((e) => e.kind === 'screen.capture').map((e) => e.data);
    expect(events.filter((e) => e.kind === 'output.truncated')).toEqual([
      { kind: 'output.truncated', data: expect.objectContaining({ reason: expect.stringMatching(/^screenshot limit reached/) }) },
    ]);
    expect(shots.length).toBeLessThanOrEqual(8);
    expect(shots.at(-1)?.reason).toBe('final');
    const files = fs.readdirSync(path.join(taskDir, 'screens'));
    expect(files).toHaveLength(shots.length);
    const onDisk = files.reduce((sum, file) => sum + fs.statSync(path.join(taskDir, 'screens', file)).size, 0);
    expect(onDisk).toBeLessThanOrEqual(640 * 400 * 4 + 1024 + 150_000);
  }, 120_000);
});
