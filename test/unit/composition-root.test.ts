/**
 * main/index.ts against a stubbed `electron`: what it must do before `ready` (sandbox everything,
 * register app://), and after (start the engine, serve app://, one IPC handler per channel, each
 * forwarded to the engine over the window's own connection, limits on every web contents, the
 * window on our own page). The engine here is a real core's handler table in this process (its
 * socket is not under test: test/e2e/cli-to-app.test.ts goes through it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_SCHEME } from '../../main/app-protocol.js';
import { channels } from '../../preload/contract.js';
import { app, FakeBrowserWindow, FakeWebContents, ipcMainHandlers, menu, protocol } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

const engine = vi.hoisted(() => ({ home: '', opened: 0, closed: 0, options: [] as unknown[] }));
vi.mock('../../main/core/server/connect.js', async () => {
  const { createAirlock } = await import('../../main/core/airlock.js');
  const { localEngine } = await import('../../main/ipc/local-engine.js');
  engine.home = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-root-'));
  const connect = localEngine(createAirlock({ home: engine.home, env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } }));
  return {
    connectEngine: async (options: unknown) => {
      engine.options.push(options);
      engine.opened += 1;
      const client = await connect();
      return { ...client, close: () => ((engine.closed += 1), client.close()) };
    },
  };
});

afterAll(() => fs.rmSync(engine.home, { recursive: true, force: true }));

describe('the composition root', () => {
  beforeAll(async () => {
    await import('../../main/index.js');
  });

  it('before ready: forces the sandbox on every renderer and registers app:// as privileged', () => {
    expect(app.enableSandbox).toHaveBeenCalled();
    expect(protocol.privilegedSchemes).toEqual([
      expect.objectContaining({ scheme: APP_SCHEME, privileges: expect.objectContaining({ standard: true, secure: true }) }),
    ]);
    expect(ipcMainHandlers.size).toBe(0);
    expect(FakeBrowserWindow.created).toHaveLength(0);
  });

  it('after ready: starts the engine (Electron as Node running the CLI bundle), serves app://, handles every channel, and opens one window on our page', async () => {
    app.becomeReady();
    await vi.waitFor(() => expect(FakeBrowserWindow.created).toHaveLength(1));
    // Started at once, before the window asks anything; that first connection only starts it.
    await vi.waitFor(() => expect(engine.closed).toBe(1));
    expect(engine.options).toEqual([{ client: 'app', spawn: { command: process.execPath, args: ['/repo/airlock/out/cli/airlock.cjs'], env: { ELECTRON_RUN_AS_NODE: '1' } } }]);
    expect(protocol.handlers.has(APP_SCHEME)).toBe(true);
    expect([...ipcMainHandlers.keys()].sort()).toEqual([...channels].sort());
    expect(FakeBrowserWindow.created[0]!.loadedUrl).toBe(APP_ENTRY_URL);
  });

  it('sets a menu without reload accelerators (Ctrl/Cmd+R runs an agent)', () => {
    expect(menu.setApplicationMenu).toHaveBeenCalled();
    const roles = JSON.stringify(menu.template);
    expect(roles).not.toMatch(/reload/i);
    expect(roles).toContain('editMenu');
  });

  it('refuses malformed payloads with no side effect, and answers channels of the service', async () => {
    const window = FakeBrowserWindow.created[0]!;
    const ownFrame = { url: APP_ENTRY_URL, parent: null };
    const run = ipcMainHandlers.get('run.start')!;
    await expect(run({ sender: window.webContents, senderFrame: ownFrame }, { agentId: 'builtin:demo', network: { mode: 'host' } })).resolves.toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    await expect(run({ sender: window.webContents, senderFrame: ownFrame }, { agentId: 'file:/nowhere/agent.yaml' })).resolves.toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(window.webContents.sent.filter(([channel]) => channel === 'push:tasks')).toEqual([]);
    // The window's one connection, kept for its calls.
    expect(engine.opened - engine.closed).toBe(1);
  });

  it('answers IPC from its window and refuses others', async () => {
    const window = FakeBrowserWindow.created[0]!;
    const listener = ipcMainHandlers.get('app.version')!;
    const ownFrame = { url: APP_ENTRY_URL, parent: null };
    await expect(listener({ sender: window.webContents, senderFrame: ownFrame })).resolves.toEqual({ ok: true, value: '0.0.0-test' });
    await expect(listener({ sender: new FakeWebContents(), senderFrame: ownFrame })).resolves.toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('closes the window\'s engine connection before quitting', async () => {
    const event = { preventDefault: vi.fn() };
    app.emit('before-quit', event);
    expect(event.preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(app.quit).toHaveBeenCalled());
    expect(engine.opened - engine.closed).toBe(0);
    const again = { preventDefault: vi.fn() };
    app.emit('before-quit', again);
    expect(again.preventDefault).not.toHaveBeenCalled();
  });

  it('applies the limits to every web contents Electron creates', () => {
    const contents = new FakeWebContents();
    app.emit('web-contents-created', {}, contents);
    expect(contents.windowOpenHandler?.({ url: 'https://example.org/' })).toEqual({ action: 'deny' });
    expect(contents.listenerCount('will-navigate')).toBe(1);
    expect(contents.session.permissionRequestHandler).not.toBeNull();
    expect(contents.session.headersReceivedListener).not.toBeNull();
  });
});
