import path from 'node:path';
import type Dockerode from 'dockerode';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScreenSession } from '../../main/core/desktop/screen-session.js';
import type { ScreenFrame } from '../../main/core/desktop/types.js';
import { DockerFrameParser } from '../../main/core/engine/docker-frames.js';
import { DockerContainer } from '../../main/core/engine/docker-backend.js';
import { Engine, LABEL } from '../../main/core/engine/engine.js';
import { sandboxContainerOptions } from '../../main/core/engine/hardening.js';
import { BASE_IMAGE, DESKTOP_IMAGE } from '../../main/core/images/images.js';
import { currentOwner } from '../../main/core/tasks/owner.js';
import { desktopCommand } from '../../main/core/tasks/task-desktop.js';
import { REPO, waitFor } from '../helpers/env.js';

// The live screen end to end: a hardened desktop container (Xvfb, matchbox, Chromium, x11vnc),
// reached only through the engine's exec stream. Chromium is driven from inside the container
// through its DevTools endpoint, as an agent would; what the session shows is then checked pixel
// by pixel.

const WIDTH = 1280;
const HEIGHT = 800;
const CENTER = { x: 640, y: 450 }; // inside the page, below Chromium's tab strip and address bar
// A locally built variant of the desktop image can be tried without retagging the real one.
const IMAGE = process.env.AIRLOCK_TEST_DESKTOP_IMAGE ?? DESKTOP_IMAGE;
const engine = Engine.connect();
const id = `${process.pid}-${Date.now().toString(36)}`;

function plan(name: string, image: string, command: string[]) {
  return sandboxContainerOptions({
    name, image, command, workdir: '/workspace', env: { AIRLOCK_DISPLAY: `${WIDTH}x${HEIGHT}` }, workspace: { volume: name, sizeBytes: 64 * 1024 ** 2 },
    labels: { [LABEL.task]: name, [LABEL.agent]: 'screen-test', [LABEL.digest]: 'test', [LABEL.owner]: currentOwner() },
    limits: { cpus: 2, memoryBytes: 1024 ** 3, pids: 512 }, sidecar: undefined,
  });
}

async function run(container: Dockerode.Container, cmd: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const exec = await container.exec({ Cmd: cmd, User: '10001:10001', AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({});
  let stdout = '';
  let stderr = '';
  const frames = new DockerFrameParser((name, piece) => (name === 'stdout' ? (stdout += piece.toString()) : (stderr += piece.toString())));
  stream.on('data', (chunk: Buffer) => frames.push(chunk));
  await new Promise((resolve) => stream.on('end', resolve));
  return { stdout, stderr, code: (await exec.inspect()).ExitCode };
}

/** Opens a page in a new foreground tab of the container's Chromium; returns its DevTools id. */
async function openPage(container: Dockerode.Container, html: string): Promise<string> {
  const result = await run(container, ['curl', '-s', '-X', 'PUT', `http://127.0.0.1:9222/json/new?data:text/html,${encodeURIComponent(html)}`]);
  return (JSON.parse(result.stdout) as { id: string }).id;
}

/** Evaluates an expression in a page, over DevTools' WebSocket, with Node 24 inside the container. */
async function evaluate(container: Dockerode.Container, page: string, expression: string): Promise<unknown> {
  const script = `const ws = new WebSocket(process.argv[1]);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
ws.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: process.argv[2], returnByValue: true } }));
const reply = await new Promise((resolve) => { ws.onmessage = (e) => resolve(JSON.parse(e.data)); });
console.log(JSON.stringify({ value: reply.result?.result?.value ?? null }));
ws.close();`;
  const result = await run(container, ['node', '--input-type=module', '-e', script, `ws://127.0.0.1:9222/devtools/page/${page}`, expression]);
  if (result.code !== 0) throw new Error(`evaluate failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { value: unknown }).value;
}

/** What a live view does with frames: paints each region onto its own copy of the screen. */
class Canvas {
  readonly rgba = Buffer.alloc(WIDTH * HEIGHT * 4);
  readonly frames: ScreenFrame[] = [];

  paint = (frame: ScreenFrame): void => {
    this.frames.push(frame);
    const png = PNG.sync.read(Buffer.from(frame.png));
    expect([png.width, png.height]).toEqual([frame.w, frame.h]);
    for (let row = 0; row < frame.h; row++) {
      png.data.copy(this.rgba, ((frame.y + row) * WIDTH + frame.x) * 4, row * frame.w * 4, (row + 1) * frame.w * 4);
    }
  };

  pixel(x: number, y: number): number[] {
    return pixelOf(this.rgba, WIDTH, x, y);
  }
}

function pixelOf(rgba: Buffer, width: number, x: number, y: number): number[] {
  const at = (y * width + x) * 4;
  return [...rgba.subarray(at, at + 4)];
}

describe('ScreenSession against a real desktop container', () => {
  const name = `airlock-screen-test-${id}`;
  let container: Dockerode.Container;
  let session: ScreenSession;
  let page = '';
  const canvas = new Canvas();
  let stopWatching = (): void => undefined;

  beforeAll(async () => {
    container = await engine.api.createContainer(plan(name, IMAGE, desktopCommand(['sleep', '300'], path.join(REPO, 'assets'))));
    await container.start();
    await waitFor(async () => ((await run(container, ['curl', '-fs', 'http://127.0.0.1:9222/json/version'])).code === 0 ? true : undefined), 'Chromium to start', 60_000);
  });

  afterAll(async () => {
    session?.close();
    await container?.remove({ force: true, v: true }).catch(() => undefined);
    await engine.api.getVolume(name).remove({ force: true }).catch(() => undefined);
  });

  it('opens through the exec stream; the first frame of a watch is the whole screen', async () => {
    session = await ScreenSession.open(new DockerContainer(container), { task: 'screen-test' });
    expect([session.width, session.height]).toEqual([WIDTH, HEIGHT]);
    stopWatching = session.watch(canvas.paint);
    const first = await waitFor(async () => canvas.frames[0], 'the first frame', 10_000);
    expect(first).toMatchObject({ task: 'screen-test', seq: 1, x: 0, y: 0, w: WIDTH, h: HEIGHT, width: WIDTH, height: HEIGHT });
    const png = PNG.sync.read(Buffer.from(first.png));
    expect([png.width, png.height]).toEqual([WIDTH, HEIGHT]);
    expect(session.lastChangeAt()).toBeGreaterThan(0);
  });

  it('sends changed regions as the screen changes, and they paint the right pixels', async () => {
    page = await openPage(container, '<body style="margin:0;background:rgb(255,0,0)">');
    await waitFor(async () => (canvas.pixel(CENTER.x, CENTER.y).join() === '255,0,0,255' ? true : undefined), 'the red page to show in the frames');

    await evaluate(container, page, "document.body.style.background = 'rgb(0,0,255)'");
    await waitFor(async () => (canvas.pixel(CENTER.x, CENTER.y).join() === '0,0,255,255' ? true : undefined), 'the page to turn blue in the frames');

    // A small change is sent as a small region, not the whole screen again.
    const before = canvas.frames.length;
    await evaluate(container, page, "document.body.innerHTML = '<div style=\"position:absolute;left:600px;top:300px;width:40px;height:40px;background:rgb(0,255,0)\"></div>'");
    const small = await waitFor(async () => canvas.frames.slice(before).find((f) => f.w < WIDTH / 2 && f.h < HEIGHT / 2), 'a small frame for a small change');
    expect(small.w * small.h).toBeLessThan(WIDTH * HEIGHT / 4);
    expect(canvas.frames.map((f) => f.seq)).toEqual(canvas.frames.map((_, i) => i + 1));
  });

  it('capture() returns the whole screen, the same pixels the frames painted', async () => {
    // The screen is still now; what the frames built up must equal a fresh capture.
    const match = await waitFor(async () => {
      const shot = await session.capture();
      const png = PNG.sync.read(shot.png);
      return png.data.equals(canvas.rgba) ? { shot, png } : undefined;
    }, 'the frames to match a capture', 15_000);
    expect([match.shot.width, match.shot.height, match.png.width, match.png.height]).toEqual([WIDTH, HEIGHT, WIDTH, HEIGHT]);
    expect(pixelOf(match.png.data, WIDTH, CENTER.x, CENTER.y)).toEqual([0, 0, 255, 255]);
  });

  it('does no PNG work while nobody watches', async () => {
    stopWatching();
    const { pngBytes, framesEmitted } = session.stats;
    const changed = session.lastChangeAt();
    await evaluate(container, page, "document.body.innerHTML = ''; document.body.style.background = 'rgb(0,255,0)'");
    await waitFor(async () => (session.lastChangeAt() > changed ? true : undefined), 'the change to reach the session');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(session.stats).toMatchObject({ pngBytes, framesEmitted });
    const png = PNG.sync.read((await session.capture()).png);
    expect(pixelOf(png.data, WIDTH, CENTER.x, CENTER.y)).toEqual([0, 255, 0, 255]);
  });

  it('keeps to maxFps while the screen changes all the time', async () => {
    // (No "#" in these pages: in a data: URL it starts the fragment.)
    await openPage(container, '<style>@keyframes c{from{background:rgb(0,0,0)}to{background:rgb(255,255,255)}}body{animation:c 0.5s infinite alternate}</style><body>');
    const frames: ScreenFrame[] = [];
    const stop = session.watch((frame) => frames.push(frame));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    stop();
    const window = frames.filter((f) => f.at >= frames[0]!.at + 500);
    // 2 s after the first half second: at most 20 fps (one frame of slack for timer rounding).
    expect(window.length).toBeLessThanOrEqual(41);
    expect(window.length).toBeGreaterThanOrEqual(5);
  });

  it('input(): a click and key presses reach a text field in the browser', async () => {
    const form = await openPage(container, '<body style="margin:0"><input style="position:fixed;left:0;top:0;width:100%;height:100%;font-size:48px">');
    await waitFor(async () => ((await evaluate(container, form, 'document.readyState')) === 'complete' ? true : undefined), 'the form to load');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the new tab is painted and takes clicks
    session.input({ type: 'pointer', x: CENTER.x, y: CENTER.y, buttons: 1 });
    session.input({ type: 'pointer', x: CENTER.x, y: CENTER.y, buttons: 0 });
    await waitFor(async () => ((await evaluate(container, form, 'document.activeElement?.tagName')) === 'INPUT' ? true : undefined), 'the click to focus the field');
    for (const char of 'hi airlock') {
      session.input({ type: 'key', keysym: char.charCodeAt(0), down: true });
      session.input({ type: 'key', keysym: char.charCodeAt(0), down: false });
    }
    await waitFor(async () => ((await evaluate(container, form, "document.querySelector('input').value")) === 'hi airlock' ? true : undefined), 'the typed text to arrive');
    expect(() => session.input({ type: 'pointer', x: 1, y: 1, buttons: 256 })).toThrow(/bit mask/);
  });

  it('publishes no port: the screen is only reachable through the exec stream', async () => {
    const info = await container.inspect();
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(Object.keys(info.HostConfig.PortBindings ?? {})).toEqual([]);
    expect(Object.keys(info.NetworkSettings.Ports ?? {})).toEqual([]);
    expect(info.HostConfig.PublishAllPorts ?? false).toBe(false);
  });

  it('close() ends the stream and leaves nothing running in the container', async () => {
    const running = async () => (await run(container, ['ps', '-eo', 'comm'])).stdout.split('\n').map((l) => l.trim());
    expect(await running()).toContain('x11vnc');
    session.close();
    session.close(); // idempotent
    expect(await session.ended).toBeUndefined();
    const gone = async () => ((await running()).some((c) => c === 'x11vnc' || c === 'socat') ? undefined : true);
    await waitFor(gone, 'x11vnc to exit', 10_000).catch(async (error: unknown) => {
      const ps = await run(container, ['ps', '-eo', 'pid,ppid,stat,etime,args']);
      throw new Error(`${(error as Error).message}; still running:\n${ps.stdout}`);
    });
    expect(() => session.input({ type: 'key', keysym: 0x61, down: true })).toThrow(/closed/);
    // The desktop itself is untouched: a new session can open.
    const again = await ScreenSession.open(new DockerContainer(container));
    expect(again.width).toBe(WIDTH);
    again.close();
  });
});

describe('ScreenSession on an image without a desktop', () => {
  const name = `airlock-screen-test-nodesk-${id}`;

  afterAll(async () => {
    await engine.api.getContainer(name).remove({ force: true, v: true }).catch(() => undefined);
    await engine.api.getVolume(name).remove({ force: true }).catch(() => undefined);
  });

  it('refuses with a hint to use the desktop image', async () => {
    const container = await engine.api.createContainer(plan(name, BASE_IMAGE, ['sleep', '300']));
    await container.start();
    await expect(ScreenSession.open(new DockerContainer(container), { readyTimeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'image_missing',
      message: expect.stringMatching(/airlock-desktop is missing/),
      hint: expect.stringMatching(/airlock\/agent-desktop:1/),
    });
  });
});
