/**
 * main/index.ts against a stubbed `electron`: what it must do before `ready` (sandbox everything,
 * register app://), and after (serve app://, one IPC handler per channel, limits on every web
 * contents, the window on our own page).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_SCHEME } from '../../main/app-protocol.js';
import { channels } from '../../preload/contract.js';
import { app, FakeBrowserWindow, FakeWebContents, ipcMainHandlers, protocol } from './fake-electron.js';

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

  it('answers IPC from its window and refuses others', async () => {
    const window = FakeBrowserWindow.created[0]!;
    const listener = ipcMainHandlers.get('app.version')!;
    const ownFrame = { url: APP_ENTRY_URL, parent: null };
    await expect(listener({ sender: window.webContents, senderFrame: ownFrame })).resolves.toEqual({ ok: true, value: '0.0.0-test' });
    await expect(listener({ sender: new FakeWebContents(), senderFrame: ownFrame })).resolves.toMatchObject({ ok: false, error: { code: 'forbidden' } });
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
