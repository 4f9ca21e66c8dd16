/**
 * The screen channels through the real registrar (sender check → schema → handler → envelope)
 * over a real service, bus, ScreenRegistry and audit trail: malformed input never reaches the
 * screen, frames go only to the window that asked (and stop when it goes, reloads, or the task
 * ends), and input is accepted only from the window that took control. Each window reaches the
 * engine's one handler table over a connection of its own (main/ipc/engine-link.ts), as in the app.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../main/app-protocol.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { createIpcRegistrar } from '../../main/ipc/register.js';
import { EngineConnections } from '../../main/ipc/engine-link.js';
import { registerForwardingHandlers } from '../../main/ipc/forward.js';
import { localEngine } from '../../main/ipc/local-engine.js';
import type { Airlock } from '../../main/core/airlock.js';
import { createMainWindow, isAppUrlFor, isOwnWebContents } from '../../main/window.js';
import { AGENT, FakeScreen, screenService, solidPng } from '../helpers/screens.js';
import { FakeWebContents, ipcMainHandlers } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

type Envelope = { ok: boolean; value?: unknown; error?: { code: string; message: string } };
type Listener = (event: unknown, ...args: unknown[]) => Promise<Envelope>;
const TASK = 't_01jz0000000000000000000001';

let env: ReturnType<typeof screenService>;
let screen: FakeScreen;
let removeScreen: () => void;
let events: AirlockEvent[];

function ownWindow(): FakeWebContents {
  return createMainWindow({ preloadPath: '/x/preload/index.cjs', entryUrl: APP_ENTRY_URL, devTools: false }).webContents as unknown as FakeWebContents;
}

function call(from: FakeWebContents, channel: string, ...args: unknown[]): Promise<Envelope> {
  return (ipcMainHandlers.get(channel) as Listener)({ sender: from, senderFrame: { url: APP_ENTRY_URL, parent: null } }, ...args);
}

const frames = (contents: FakeWebContents) => contents.sent.filter(([channel]) => channel === 'push:screen').map(([, frame]) => frame as { task: string; seq: number; x: number });

beforeEach(() => {
  env = screenService();
  events = [];
  env.bus.subscribe((event) => events.push(event));
  screen = new FakeScreen(TASK);
  removeScreen = env.screens.add(TASK, AGENT, screen);
  ipcMainHandlers.clear();
  const registrar = createIpcRegistrar({ handle: (channel, listener) => ipcMainHandlers.set(channel, listener as never) }, { isOwnWebContents, isAppUrl: isAppUrlFor(APP_ORIGIN) }, () => undefined);
  registerForwardingHandlers(registrar.handle, { engine: new EngineConnections(localEngine({ service: env.service } as unknown as Airlock)), dialogs: { chooseManifest: () => Promise.resolve(undefined), chooseExportFile: () => Promise.resolve(undefined) } });
});

afterEach(async () => {
  await env.close();
});

describe('screen channels', () => {
  it.each([
    ['screen.input', 'a fractional coordinate', [{ task: TASK, input: { type: 'pointer', x: 1.5, y: 2, buttons: 0 } }]],
    ['screen.input', 'a negative coordinate', [{ task: TASK, input: { type: 'pointer', x: -1, y: 2, buttons: 0 } }]],
    ['screen.input', 'a coordinate beyond any screen', [{ task: TASK, input: { type: 'pointer', x: 3840, y: 2, buttons: 0 } }]],
    ['screen.input', 'buttons beyond a byte', [{ task: TASK, input: { type: 'pointer', x: 1, y: 2, buttons: 256 } }]],
    ['screen.input', 'a keysym beyond X11\'s range', [{ task: TASK, input: { type: 'key', keysym: 0x2000_0000, down: true } }]],
    ['screen.input', 'a key as text', [{ task: TASK, input: { type: 'key', keysym: 'a', down: true } }]],
    ['screen.input', 'an input kind that does not exist', [{ task: TASK, input: { type: 'clipboard', text: 'rm -rf /' } }]],
    ['screen.input', 'an extra field', [{ task: TASK, input: { type: 'key', keysym: 97, down: true, repeat: 100 } }]],
    ['screen.control', 'take as a string', [{ task: TASK, take: 'yes' }]],
    ['screen.shot', 'index 0', [{ task: TASK, index: 0 }]],
    ['screen.watch', 'something that is not a task id', ['../t_x']],
  ])('%s refuses %s with bad_argument, before the screen', async (channel, _why, args) => {
    const contents = ownWindow();
    await call(contents, 'screen.control', { task: TASK, take: true });
    await expect(call(contents, channel, ...(args as unknown[]))).resolves.toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    expect(screen.inputs).toEqual([]);
  });

  it('pushes frames to the window that asked and to no other, until it unwatches', async () => {
    const asker = ownWindow();
    const other = ownWindow();
    await expect(call(asker, 'screen.watch', TASK)).resolves.toEqual({ ok: true, value: { width: 1280, height: 800 } });
    screen.show(1, 2, 3, 4, [255, 0, 0]);
    expect(frames(asker).map((f) => [f.task, f.seq, f.x])).toEqual([[TASK, 1, 0], [TASK, 2, 1]]);
    expect(frames(other)).toEqual([]);
    expect(other.sent).toEqual([]);
    await expect(call(asker, 'screen.unwatch', TASK)).resolves.toEqual({ ok: true, value: undefined });
    screen.show(1, 2, 3, 4, [0, 255, 0]);
    expect(frames(asker)).toHaveLength(2);
    expect(screen.watchers).toBe(0);
  });

  it('watching again starts again with the whole screen, with one watch per window', async () => {
    const asker = ownWindow();
    await call(asker, 'screen.watch', TASK);
    await call(asker, 'screen.watch', TASK);
    expect(screen.watchers).toBe(1);
    expect(frames(asker).map((f) => f.seq)).toEqual([1, 1]);
  });

  it('stops when the window is destroyed, crashes, or loads another page, but not on in-page navigation', async () => {
    for (const leave of [
      (c: FakeWebContents) => c.emit('destroyed'),
      (c: FakeWebContents) => c.emit('render-process-gone', {}, { reason: 'crashed' }),
      (c: FakeWebContents) => c.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false, url: APP_ENTRY_URL }),
    ]) {
      const contents = ownWindow();
      await call(contents, 'screen.watch', TASK);
      contents.emit('did-start-navigation', { isMainFrame: true, isSameDocument: true, url: `${APP_ENTRY_URL}#/tasks` });
      contents.emit('did-start-navigation', { isMainFrame: false, isSameDocument: false, url: 'about:blank' });
      expect(screen.watchers).toBe(1);
      leave(contents);
      // The window's engine connection is closed, and with it its watch (a socket closes asynchronously).
      await vi.waitFor(() => expect(screen.watchers).toBe(0));
      screen.show(0, 0, 1, 1, [0, 0, 0]);
      expect(frames(contents)).toHaveLength(1);
    }
  });

  it('stops when the task\'s screen goes', async () => {
    const contents = ownWindow();
    await call(contents, 'screen.watch', TASK);
    removeScreen();
    expect(screen.watchers).toBe(0);
    await expect(call(contents, 'screen.watch', TASK)).resolves.toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('takes input only from the window that took control, and gives control back when that window goes', async () => {
    const controller = ownWindow();
    const other = ownWindow();
    const click = { type: 'pointer', x: 640, y: 400, buttons: 1 };
    await expect(call(controller, 'screen.input', { task: TASK, input: click })).resolves.toMatchObject({ ok: false, error: { code: 'policy_refused' } });
    await expect(call(controller, 'screen.control', { task: TASK, take: true })).resolves.toEqual({ ok: true, value: undefined });
    await expect(call(other, 'screen.control', { task: TASK, take: true })).resolves.toMatchObject({ ok: false, error: { code: 'policy_refused' } });
    await expect(call(other, 'screen.input', { task: TASK, input: click })).resolves.toMatchObject({ ok: false, error: { code: 'policy_refused' } });
    await expect(call(controller, 'screen.input', { task: TASK, input: click })).resolves.toEqual({ ok: true, value: undefined });
    await expect(call(controller, 'screen.input', { task: TASK, input: { type: 'key', keysym: 0x61, down: true } })).resolves.toEqual({ ok: true, value: undefined });
    expect(screen.inputs).toEqual([click, { type: 'key', keysym: 0x61, down: true }]);
    controller.emit('destroyed');
    await vi.waitFor(() => expect(env.screens.controller(TASK)).toBeUndefined());
    expect(events.filter((e) => e.kind === 'screen.control').map((e) => e.data.control)).toEqual(['taken', 'released']);
    await expect(call(other, 'screen.control', { task: TASK, take: true })).resolves.toEqual({ ok: true, value: undefined });
    await expect(call(other, 'screen.control', { task: TASK, take: false })).resolves.toEqual({ ok: true, value: undefined });
    await expect(call(other, 'screen.input', { task: TASK, input: click })).resolves.toMatchObject({ ok: false, error: { code: 'policy_refused' } });
  });

  it('lists screenshots and hands out their PNG bytes; a changed file is refused', async () => {
    const contents = ownWindow();
    const png = solidPng(6, 6, [200, 100, 0]);
    const info = env.recordShot(TASK, 1, 'start', png);
    await expect(call(contents, 'screen.shots', TASK)).resolves.toEqual({ ok: true, value: [info] });
    const shot = await call(contents, 'screen.shot', { task: TASK, index: 1 });
    expect(shot.ok).toBe(true);
    expect(shot.value).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(shot.value as Uint8Array).equals(png)).toBe(true);
    env.recordShot(TASK, 2, 'interval', png);
    fs.writeFileSync(path.join(env.home.task(TASK), 'screens', '0002.png'), solidPng(6, 6, [200, 100, 1]));
    await expect(call(contents, 'screen.shot', { task: TASK, index: 2 })).resolves.toMatchObject({ ok: false, error: { code: 'policy_refused' } });
  });

  it('refuses a window Airlock did not create', async () => {
    const result = await call(new FakeWebContents(), 'screen.watch', TASK);
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(screen.watchers).toBe(0);
  });
});
