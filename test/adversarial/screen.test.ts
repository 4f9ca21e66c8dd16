import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { ScreenRegistry } from '../../main/core/desktop/screen-registry.js';
import type { ScreenFrame } from '../../main/core/desktop/types.js';
import { DockerContainer } from '../../main/core/engine/docker-backend.js';
import { LABEL } from '../../main/core/engine/engine.js';
import { SCREEN_UID, sandboxContainerOptions } from '../../main/core/engine/hardening.js';
import { DESKTOP_IMAGE } from '../../main/core/images/images.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { currentOwner } from '../../main/core/tasks/owner.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { desktopCommand, startTaskDesktop } from '../../main/core/tasks/task-desktop.js';
import { harness, lines, REPO, specFrom, tempDir, waitFor } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';

/** Opens a page of one colour in the sandbox's browser (through its DevTools endpoint, as an agent would). */
const paint = (colour: string) => `curl -s -X PUT 'http://127.0.0.1:9222/json/new?data:text/html,%3Cbody%20style%3Dbackground%3A${colour}%3E' >/dev/null`;

let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes.close();
});

/** Prints `<what>-ok` or `<what>-refused` for a command run as the agent. */
const attempt = (what: string, command: string) => `if ${command} >/dev/null 2>&1; then echo ${what}-ok; else echo ${what}-refused; fi`;

// A display agent in the real desktop image (a real task: sidecar, gateway, browser proxy) that
// attacks what records its screen. It plants an ~/.x11vncrc that would shrink what the live view and
// the screenshots see to 16×16 pixels; signals, stops, traces and writes into the file descriptors
// of the screen's helpers (x11vnc, socat, their shell); then cuts the helpers off through the X
// server it owns (it stops Xvfb for 20 s, so x11vnc cannot answer) and, with a still page on the
// screen, keeps loading pages through the browser's proxy.
describe('a display agent attacking its own recording', () => {
  it('cannot signal, stop, trace or write into the screen\'s helpers; a cut through its X server is `screen.lost`, page loads the screen does not show are `screen.stalled`', async () => {
    const h = harness();
    const screens = new ScreenRegistry(h.bus);
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, upstreamCa: fs.readFileSync(remotes.cert, 'utf8') });
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'), screens });
    const load = `curl -sk -o /dev/null -x "$AIRLOCK_BROWSER_PROXY" -H 'Sec-Fetch-Mode: navigate' -H 'Sec-Fetch-Dest: document' https://api.vendor.test/page`;
    const script = [
      'echo "clip 16x16+0+0" > "$HOME/.x11vncrc"',
      'for i in $(seq 1 300); do pgrep -x x11vnc >/dev/null && break; sleep 0.2; done',
      'V=$(pgrep -x x11vnc | head -n 1); S=$(pgrep -x socat | head -n 1)',
      'echo "helpers-uid $(awk \'/^Uid:/ { print $2 }\' /proc/$V/status) $(awk \'/^Uid:/ { print $2 }\' /proc/$S/status)"',
      attempt('kill', 'kill -TERM $V'), attempt('kill', 'kill -KILL $S'), attempt('stop', 'kill -STOP $V'),
      attempt('pkill', 'pkill -KILL -x x11vnc'), attempt('pkill', 'pkill -KILL -x socat'),
      attempt('ptrace', 'perl -e \'exit(syscall(101, 16, $ARGV[0], 0, 0) == 0 ? 0 : 1)\' $V'),
      attempt('fd-list', 'ls /proc/$V/fd'), attempt('fd-write', 'sh -c "echo RFB 003.008 > /proc/$S/fd/1"'),
      attempt('fd-write', 'sh -c "echo junk > /proc/$V/fd/0"'), attempt('environ', 'cat /proc/$V/environ'), attempt('mem', 'sh -c "exec 3< /proc/$V/mem"'),
      'for p in $(pgrep -x x11vnc) $(pgrep -x socat); do kill -KILL $p 2>/dev/null; done',
      'echo attacked', paint('red'), 'sleep 4',
      'echo cut', 'pkill -STOP -x Xvfb', 'sleep 20', 'pkill -CONT -x Xvfb', 'sleep 6',
      'echo loading', `for i in $(seq 1 16); do ${load}; sleep 1; done`, 'echo done',
    ].join('\n');
    const spec = specFrom(h.root, [
      'name: recording-attacker', `command: ["sh", "-c", ${JSON.stringify(script)}]`,
      'display: { width: 1280, height: 800, screenshotEvery: 1s }', 'network: { mode: allowlist, allow: [api.vendor.test] }',
      'onViolation: log', 'timeout: 3m',
    ].join('\n'));
    const running = runner.run(spec);
    const task = await waitFor(async () => h.events.find((e) => e.kind === 'task.created')?.task, 'the task');
    await waitFor(async () => screens.has(task) || undefined, 'the live screen', 60_000);
    const frames: ScreenFrame[] = [];
    const stopWatching = screens.watch(task, (frame) => frames.push(frame));
    const outcome = await running;
    stopWatching();
    expect(outcome.exitCode, lines(h.events, 'proc.stderr').join('\n')).toBe(0);
    const events = h.events.filter((e) => e.task === task);
    const at = (e: { time: string }) => Date.parse(e.time);
    const said = (line: string) => at(events.find((e) => e.kind === 'proc.stdout' && e.data.line === line)!);

    // The helpers run as their own user; every attack on them was refused.
    const out = lines(events);
    expect(out).toContain(`helpers-uid ${SCREEN_UID} ${SCREEN_UID}`);
    expect(out.filter((l) => /-(ok|refused)$/.test(l))).toEqual([
      'kill-refused', 'kill-refused', 'stop-refused', 'pkill-refused', 'pkill-refused', 'ptrace-refused',
      'fd-list-refused', 'fd-write-refused', 'fd-write-refused', 'environ-refused', 'mem-refused',
    ]);

    // The live view kept working through the attacks: no loss, and the red page reached it.
    const lost = events.filter((e) => e.kind === 'policy.violation' && e.data.rule === 'screen.lost');
    expect(lost.filter((e) => at(e) < said('cut'))).toEqual([]);
    expect(frames.some((f) => f.at > said('attacked') && f.at < said('cut') && f.width === 1280)).toBe(true);
    expect(events.some((e) => e.kind === 'screen.capture' && at(e) > said('attacked') && at(e) < said('cut'))).toBe(true);

    // Cutting the helpers off through the agent's own X server is a violation; the screen comes back, whole (no ~/.x11vncrc read).
    expect(lost.map((e) => String(e.data.reason))).toContainEqual(expect.stringMatching(/stopped answering/));
    const started = events.filter((e) => e.kind === 'screen.started' && e.data.error === undefined);
    expect(started.map((e) => [e.data.width, e.data.height])).toEqual(Array(started.length).fill([1280, 800]));
    expect(started.at(-1)!.data.reopened).toBe(lost.length);
    expect(at(started.at(-1)!)).toBeLessThan(said('loading'));

    // Page loads through the gateway with nothing changing on the screen: a stall, reported as such and as a violation.
    expect(events.some((e) => e.kind === 'net.request' && e.data.host === 'api.vendor.test' && at(e) > said('loading'))).toBe(true);
    const stalled = events.filter((e) => e.kind === 'screen.stalled');
    expect(stalled).toHaveLength(1);
    expect(stalled[0]!.data).toMatchObject({ url: 'https://api.vendor.test/page', pageLoads: expect.any(Number) });
    expect(at(stalled[0]!)).toBeGreaterThan(said('loading'));
    expect(events.filter((e) => e.kind === 'policy.violation' && e.data.rule === 'screen.stalled')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ reason: expect.stringMatching(/^the screen did not change for \d+ s while the browser loaded \d+ pages?/) }) }),
    ]);
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
        container: new DockerContainer(container), task: name, agent: { name: 'screen-caps', digest: 'test' }, display: { width: 640, height: 400, screenshotEveryMs: 1_000 },
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
