// The live screen of a display task: time from ScreenSession.open() to the first frame, and while
// the screen keeps changing, the frames per second delivered and what they cost this process
// (process.cpuUsage: the RFB stream, the framebuffer, PNG encoding with its deflate threads).
// One hardened desktop container (no network), Chromium inside driven through its DevTools port.
import type Dockerode from 'dockerode';
import { ScreenSession } from '../main/core/desktop/screen-session.js';
import type { ScreenFrame } from '../main/core/desktop/types.js';
import { DockerFrameParser } from '../main/core/engine/docker-frames.js';
import { DockerContainer } from '../main/core/engine/docker-backend.js';
import { Engine, LABEL } from '../main/core/engine/engine.js';
import { sandboxContainerOptions } from '../main/core/engine/hardening.js';
import { DESKTOP_IMAGE } from '../main/core/images/images.js';
import { currentOwner } from '../main/core/tasks/owner.js';
import { desktopCommand } from '../main/core/tasks/task-desktop.js';
import { findAssetsDir } from '../main/core/assets.js';

const IMAGE = process.env.BENCH_DESKTOP_IMAGE ?? DESKTOP_IMAGE;
const SECONDS = Number(process.env.BENCH_DESKTOP_SECONDS ?? 5);
const OPENS = Number(process.env.BENCH_DESKTOP_OPENS ?? 3);
const SIZE = { width: 1280, height: 800 };

const PAGES = {
  // (No "#" in these: in a data: URL it starts the fragment.)
  'full screen, colour animation': '<style>@keyframes c{from{background:rgb(0,0,0)}to{background:rgb(255,255,255)}}body{animation:c 0.5s infinite alternate}</style><body>',
  '200x200 spinning square': '<style>@keyframes s{to{transform:rotate(360deg)}}div{width:200px;height:200px;margin:200px;background:rgb(0,128,255);animation:s 1s linear infinite}</style><div></div>',
  'static page': '<body style="font:16px sans-serif"><h1>Static</h1><p>Nothing moves here.</p>',
};

async function run(container: Dockerode.Container, cmd: string[]): Promise<{ stdout: string; code: number | null }> {
  const exec = await container.exec({ Cmd: cmd, User: '10001:10001', AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({});
  let stdout = '';
  const frames = new DockerFrameParser((name, piece) => (name === 'stdout' ? (stdout += piece.toString()) : undefined));
  stream.on('data', (chunk: Buffer) => frames.push(chunk));
  await new Promise((resolve) => stream.on('end', resolve));
  return { stdout, code: (await exec.inspect()).ExitCode };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Sample { fps: number; cpuMs: number; mbIn: number; kbPerFrame: number; encodeMs: number }

/** Watches (or not) for SECONDS and reports what the session delivered and what it cost. */
async function measure(session: ScreenSession, watch: boolean): Promise<Sample> {
  const frames: ScreenFrame[] = [];
  const stop = watch ? session.watch((frame) => frames.push(frame)) : () => undefined;
  await sleep(500); // past the first (whole-screen) frame
  const before = session.stats;
  const counted = frames.length;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await sleep(SECONDS * 1000);
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  const after = session.stats;
  stop();
  const n = frames.length - counted;
  return {
    fps: n / seconds,
    cpuMs: (used.user + used.system) / 1000 / seconds,
    mbIn: (after.bytesReceived - before.bytesReceived) / 1e6 / seconds,
    kbPerFrame: n ? (after.pngBytes - before.pngBytes) / 1024 / n : 0,
    encodeMs: n ? (after.encodeMs - before.encodeMs) / n : 0,
  };
}

export async function benchDesktopFrames(): Promise<void> {
  const engine = Engine.connect();
  const name = `airlock-bench-desktop-${process.pid}`;
  const container = await engine.api.createContainer(sandboxContainerOptions({
    name, image: IMAGE, command: desktopCommand(['sleep', 'infinity'], findAssetsDir()), workdir: '/workspace',
    env: { AIRLOCK_DISPLAY: `${SIZE.width}x${SIZE.height}` }, workspace: { volume: name, sizeBytes: 64 * 1024 ** 2 },
    labels: { [LABEL.task]: name, [LABEL.agent]: 'bench', [LABEL.digest]: 'bench', [LABEL.owner]: currentOwner() },
    limits: { cpus: 2, memoryBytes: 1024 ** 3, pids: 512 }, sidecar: undefined,
  }));
  try {
    await container.start();
    for (let i = 0; (await run(container, ['curl', '-fs', 'http://127.0.0.1:9222/json/version'])).code !== 0; i++) {
      if (i > 300) throw new Error('Chromium did not start in the desktop container');
      await sleep(200);
    }
    await sleep(1000);

    const opens: Array<{ ready: number; first: number }> = [];
    for (let i = 0; i < OPENS; i++) {
      const started = performance.now();
      const session = await ScreenSession.open(new DockerContainer(container));
      const ready = performance.now() - started;
      await new Promise<void>((resolve) => {
        const stop = session.watch(() => {
          stop();
          resolve();
        });
      });
      opens.push({ ready, first: performance.now() - started });
      session.close();
      await sleep(500);
    }

    const session = await ScreenSession.open(new DockerContainer(container));
    const rows: Array<[string, Sample]> = [];
    for (const [label, html] of Object.entries(PAGES)) {
      await run(container, ['curl', '-s', '-X', 'PUT', `http://127.0.0.1:9222/json/new?data:text/html,${encodeURIComponent(html)}`]);
      await sleep(1000);
      rows.push([`${label}, watched`, await measure(session, true)]);
      if (label.startsWith('full screen')) rows.push([`${label}, nobody watching`, await measure(session, false)]);
    }
    session.close();

    console.log(`\nLive screen of a display task (${SIZE.width}x${SIZE.height}, ${IMAGE}; maxFps 20; ${SECONDS} s per row)`);
    console.log(`open() to ServerInit ${median(opens.map((o) => o.ready)).toFixed(0)} ms, to the first frame ${median(opens.map((o) => o.first)).toFixed(0)} ms (median of ${OPENS})`);
    console.log('                                                 frames/s   CPU ms/s   RFB in MB/s   PNG KB/frame   encode ms/frame');
    for (const [label, s] of rows) {
      console.log(`${label.padEnd(49)}${s.fps.toFixed(1).padStart(8)}${s.cpuMs.toFixed(0).padStart(11)}${s.mbIn.toFixed(1).padStart(14)}${s.kbPerFrame.toFixed(1).padStart(15)}${s.encodeMs.toFixed(1).padStart(18)}`);
    }
  } finally {
    await container.remove({ force: true, v: true }).catch(() => undefined);
    await engine.api.getVolume(name).remove({ force: true }).catch(() => undefined);
  }
}
