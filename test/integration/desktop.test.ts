import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { ScreenRegistry } from '../../main/core/desktop/screen-registry.js';
import type { ScreenFrame } from '../../main/core/desktop/types.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { dockerExecSync, harness, lines, REPO, specFrom, waitFor } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';

// Real engine, real desktop image: Xvfb, a window manager and Chromium inside the hardened
// sandbox; the screen reached only through the engine's exec stream; the browser's traffic
// through the task's gateway. The "remote" sites are local servers behind the injected resolver.
let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes.close();
});

function setup() {
  const h = harness();
  const screens = new ScreenRegistry(h.bus);
  const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, upstreamCa: fs.readFileSync(remotes.cert, 'utf8') });
  const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'), screens });
  fs.cpSync(path.join(REPO, 'test/fixtures/desktop'), path.join(h.root, 'agent'), { recursive: true });
  return { ...h, screens, runner, gateway };
}

const manifest = (name: string, command: string[], extra = '') => [
  `name: ${name}`,
  `command: ${JSON.stringify(command)}`,
  'display: { width: 1280, height: 800, screenshotEvery: 2s }',
  'inputs: [{ from: ./agent, to: /workspace/agent }]',
  'timeout: 90s',
  extra,
].join('\n');

/** The fraction of pixels of `png` whose colour is close to (r, g, b). */
function share(png: Uint8Array, [r, g, b]: [number, number, number]): number {
  const image = PNG.sync.read(Buffer.from(png));
  let hits = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    if (Math.abs(image.data[i]! - r) < 24 && Math.abs(image.data[i + 1]! - g) < 24 && Math.abs(image.data[i + 2]! - b) < 24) hits += 1;
  }
  return hits / (image.width * image.height);
}

describe('a display task', () => {
  it('browses an allowed .test site through the gateway, gets Airlock\'s refusal page for another, streams changing frames and keeps hashed screenshots', async () => {
    const { root, events, runner, screens, engine, home } = setup();
    const spec = specFrom(root, manifest('browser', ['node', '/workspace/agent/browse.mjs', 'https://api.vendor.test/page', 'https://other.test/upload'],
      'network: { mode: allowlist, allow: [api.vendor.test] }'));
    const running = runner.run(spec);
    const task = await waitFor(async () => events.find((e) => e.kind === 'task.created')?.task, 'the task');
    await waitFor(async () => screens.has(task) || undefined, 'the live screen', 60_000);

    // Frames arrive while the agent works, and they change.
    const frames: ScreenFrame[] = [];
    const stop = screens.watch(task, (frame) => frames.push(frame));
    expect(screens.size(task)).toEqual({ width: 1280, height: 800 });

    // Nothing is published on the host, for the agent's container or its gateway endpoint.
    const [objects] = (await listTaskObjects(engine)).filter((t) => t.task === task);
    for (const container of objects!.containers) {
      const info = await engine.api.getContainer(container.id).inspect();
      expect(info.HostConfig.PortBindings ?? {}).toEqual({});
      expect(info.HostConfig.PublishAllPorts).toBeFalsy();
      expect(Object.keys(info.NetworkSettings.Ports ?? {})).toEqual([]);
      expect(info.HostConfig.NetworkMode).toMatch(/^(none|container:)/);
      // The network issue's isolation holds with a display attached: loopback is all there is.
      expect(dockerExecSync(container.id, ['ls', '/sys/class/net']).trim()).toBe('lo');
    }

    const outcome = await running;
    stop();
    expect(outcome.exitCode).toBe(0);
    const out = lines(events);
    expect(out.some((l) => l.startsWith('https://api.vendor.test/page:') && l.includes('hello from api.vendor.test/page'))).toBe(true);
    expect(out.some((l) => l.startsWith('https://other.test/upload: Airlock refused other.test:443'))).toBe(true);

    expect(frames.length).toBeGreaterThan(2);
    expect(frames[0]).toMatchObject({ task, x: 0, y: 0, w: 1280, h: 800, seq: 1 });
    expect(new Set(frames.map((f) => createHash('sha256').update(f.png).digest('hex'))).size).toBeGreaterThan(2);

    // The browser's requests went through the gateway: the allowed page (TLS opened with the
    // task's CA, so the request itself is in the log) and the refusal, before any DNS lookup.
    expect(events.some((e) => e.kind === 'net.request' && e.data.host === 'api.vendor.test' && e.data.path === '/page' && e.data.status === 200)).toBe(true);
    expect(events.some((e) => e.kind === 'net.denied' && e.data.host === 'other.test')).toBe(true);
    expect(remotes.requests.some((r) => r.url === '/page' && r.host === 'api.vendor.test')).toBe(true);

    // Screenshots: files in the task folder whose size and sha256 match their events; one per page load.
    const captures = events.filter((e) => e.kind === 'screen.capture');
    expect(captures.length).toBeGreaterThanOrEqual(3);
    for (const capture of captures) {
      const file = fs.readFileSync(path.join(home.task(task), String(capture.data.file)));
      expect(file.length).toBe(capture.data.bytes);
      expect(createHash('sha256').update(file).digest('hex')).toBe(capture.data.sha256);
    }
    const page = captures.find((e) => e.data.reason === 'navigation' && e.data.url === 'https://api.vendor.test/page');
    const refusal = captures.find((e) => e.data.reason === 'navigation' && e.data.url === 'https://other.test/upload');
    expect(page).toBeDefined();
    expect(refusal).toBeDefined();
    // The refusal page is dark (#1d1f24) where the plain-text page is white.
    expect(share(fs.readFileSync(path.join(home.task(task), String(refusal!.data.file))), [0x1d, 0x1f, 0x24])).toBeGreaterThan(0.3);
    expect(share(fs.readFileSync(path.join(home.task(task), String(page!.data.file))), [255, 255, 255])).toBeGreaterThan(0.5);

    // Gone afterwards: no container, volume or network of the task, and no live screen.
    expect(screens.has(task)).toBe(false);
    expect((await listTaskObjects(engine)).filter((t) => t.task === task)).toEqual([]);
  }, 150_000);

  it('starts with an empty browser profile: nothing of an earlier task\'s desktop is left', async () => {
    const { root, events, runner } = setup();
    const profile = '/tmp/.airlock-desktop/profile';
    // The browser has made its profile by the time the agent starts; the first task leaves a mark in it.
    const script = `test -d ${profile}/Default && echo profile-exists; test -e ${profile}/Default/airlock-marker && echo marker-found || echo no-marker; echo secret > ${profile}/Default/airlock-marker && echo marker-written`;
    for (const name of ['first', 'second']) {
      const outcome = await runner.run(specFrom(root, manifest(name, ['sh', '-c', script], 'network: { mode: none }')));
      expect(outcome.exitCode, lines(events, 'proc.stderr').join('\n')).toBe(0);
    }
    const out = lines(events);
    expect(out.filter((l) => l === 'profile-exists')).toHaveLength(2);
    expect(out.filter((l) => l === 'marker-written')).toHaveLength(2);
    expect(out.filter((l) => l === 'no-marker')).toHaveLength(2);
    expect(out).not.toContain('marker-found');
  }, 150_000);
});
