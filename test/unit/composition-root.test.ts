/**
 * main/index.ts against a stubbed `electron`: what it must do before `ready` (sandbox everything,
 * register app://), and after (serve app://, one IPC handler per channel, limits on every web
 * contents, the window on our own page).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_SCHEME } from '../../main/app-protocol.js';
import { channels } from '../../preload/contract.js';
import { app, FakeBrowserWindow, FakeWebContents, ipcMainHandlers, menu, protocol } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

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

  it('after ready: serves app://, handles every channel, and opens one window on our page', async () => {
    app.becomeReady();
    await vi.waitFor(() => expect(FakeBrowserWindow.created).toHaveLength(1));
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
    const run = ipcMainHandlers.get('tasks.run')!;
    await expect(run({ sender: window.webContents, senderFrame: ownFrame }, { agentId: 'builtin:demo', network: { mode: 'host' } })).resolves.toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    await expect(run({ sender: window.webContents, senderFrame: ownFrame }, { agentId: 'file:/nowhere/agent.yaml' })).resolves.toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(window.webContents.sent.filter(([channel]) => channel === 'push:tasks')).toEqual([]);
  });

  it('answers IPC from its window and refuses others', async () => {
    const window = FakeBrowserWindow.created[0]!;
    const listener = ipcMainHandlers.get('app.version')!;
    const ownFrame = { url: APP_ENTRY_URL, parent: null };
    await expect(listener({ sender: window.webContents, senderFrame: ownFrame })).resolves.toEqual({ ok: true, value: '0.0.0-test' });
    await expect(listener({ sender: new FakeWebContents(), senderFrame: ownFrame })).resolves.toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('cancels running tasks and flushes the trail before quitting', async () => {
    const event = { preventDefault: vi.fn() };
    app.emit('before-quit', event);
    expect(event.preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(app.quit).toHaveBeenCalled());
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
