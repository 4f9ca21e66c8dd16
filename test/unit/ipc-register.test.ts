/**
 * main/ipc/register.ts: every call goes sender check → schema → handler → envelope. Driven through
 * a stubbed ipcMain exactly as Electron would call it, with the real window registry and origin check.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_ORIGIN } from '../../main/app-protocol.js';
import { AirlockError } from '../../main/core/errors.js';
import { createIpcRegistrar, type IpcRegistrar } from '../../main/ipc/register.js';
import { channels } from '../../preload/contract.js';
import { createMainWindow, isAppUrlFor, isOwnWebContents } from '../../main/window.js';
import { FakeWebContents, ipcMainHandlers } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

type Listener = (event: unknown, ...args: unknown[]) => Promise<unknown>;

let registrar: IpcRegistrar;
let ownContents: FakeWebContents;
const log = vi.fn();

function eventFrom(contents: FakeWebContents, frame: { url: string; parent: unknown } | null) {
  return { sender: contents, senderFrame: frame };
}

function call(channel: string, event: unknown, ...args: unknown[]): Promise<unknown> {
  const listener = ipcMainHandlers.get(channel) as Listener | undefined;
  if (!listener) throw new Error(`no handler for ${channel}`);
  return listener(event, ...args);
}

beforeEach(() => {
  ipcMainHandlers.clear();
  log.mockClear();
  const window = createMainWindow({ preloadPath: '/x/preload/index.cjs', entryUrl: APP_ENTRY_URL, devTools: false });
  ownContents = window.webContents as unknown as FakeWebContents;
  registrar = createIpcRegistrar(
    { handle: (channel, listener) => ipcMainHandlers.set(channel, listener as never) },
    { isOwnWebContents, isAppUrl: isAppUrlFor(APP_ORIGIN) },
    log,
  );
});

describe('IPC handle()', () => {
  const ownPage = () => eventFrom(ownContents, { url: APP_ENTRY_URL, parent: null });

  it('returns the handler value in an ok envelope', async () => {
    registrar.handle('app.version', () => '1.2.3');
    await expect(call('app.version', ownPage())).resolves.toEqual({ ok: true, value: '1.2.3' });
  });

  it('returns an AirlockError as an envelope that keeps code and hint', async () => {
    registrar.handle('doctor.run', () => {
      throw new AirlockError('engine_unavailable', 'cannot reach the Docker engine', 'start Docker');
    });
    await expect(call('doctor.run', ownPage())).resolves.toEqual({
      ok: false,
      error: { code: 'engine_unavailable', message: 'cannot reach the Docker engine', hint: 'start Docker' },
    });
  });

  it('hides the text of unexpected errors from the renderer and logs it instead', async () => {
    registrar.handle('doctor.run', () => Promise.reject(new Error('token=hunter2 leaked in a stack')));
    const result = (await call('doctor.run', ownPage())) as { ok: false; error: { code: string; message: string } };
    expect(result.ok).toBe(false);
    expect(result.error.code).toBe('internal');
    expect(result.error.message).not.toContain('hunter2');
    expect(log).toHaveBeenCalledWith('IPC doctor.run failed', expect.any(Error));
  });

  it('refuses arguments the channel schema does not allow, without calling the handler', async () => {
    const handler = vi.fn(() => '1.2.3');
    registrar.handle('app.version', handler);
    const result = (await call('app.version', ownPage(), { path: '/etc/passwd' })) as { ok: boolean; error: { code: string } };
    expect(result).toMatchObject({ ok: false, error: { code: 'bad_argument' } });
    expect(handler).not.toHaveBeenCalled();
  });

  it.each([
    ['a window Airlock did not create', () => eventFrom(new FakeWebContents(), { url: APP_ENTRY_URL, parent: null })],
    ['a subframe of our window', () => eventFrom(ownContents, { url: APP_ENTRY_URL, parent: { url: APP_ENTRY_URL } })],
    ['our window showing another origin', () => eventFrom(ownContents, { url: 'https://evil.example.com/', parent: null })],
    ['our window showing a local file', () => eventFrom(ownContents, { url: 'file:///tmp/index.html', parent: null })],
    ['a frame that is already gone', () => eventFrom(ownContents, null)],
  ])('refuses %s, without calling the handler', async (_name, makeEvent) => {
    const handler = vi.fn(() => '1.2.3');
    registrar.handle('app.version', handler);
    const result = await call('app.version', makeEvent());
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses a second handler for a channel, and reports channels left without one', () => {
    registrar.handle('app.version', () => '1');
    expect(() => registrar.handle('app.version', () => '2')).toThrow(/already has a handler/);
    expect(() => registrar.assertAllChannelsHandled()).toThrow(/doctor\.run/);
    for (const channel of channels.filter((c) => c !== 'app.version')) registrar.handle(channel, () => Promise.reject(new Error('unused')));
    expect(() => registrar.assertAllChannelsHandled()).not.toThrow();
  });
});
