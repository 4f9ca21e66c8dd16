/**
 * The window's security limits, driven through a stubbed `electron` the way Electron would call
 * our handlers: hardened webPreferences, navigation and window.open refused, permissions refused,
 * the CSP on every response, and app:// serving only the renderer's own files.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL, APP_ORIGIN, resolveAppFile, respondWithAppFile } from '../../main/app-protocol.js';
import {
  applySessionLimits,
  applyWebContentsLimits,
  CONTENT_SECURITY_POLICY,
  isSafeExternalUrl,
  withContentSecurityPolicy,
} from '../../main/security.js';
import { appMenuTemplate, builtAssetsDir, builtPreloadPath, createMainWindow, isAppUrlFor, rendererEntryUrl } from '../../main/window.js';
import { FakeBrowserWindow, FakeSession, FakeWebContents, navigationEvent, shell } from './fake-electron.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

const repoRoot = path.resolve(import.meta.dirname, '../..');

describe('isSafeExternalUrl', () => {
  it.each([
    'https://github.com/airlock/airlock',
    'https://docs.docker.com/engine/install/?os=linux#ubuntu',
    'https://www.example.com:8443/path',
    'https://bücher.de/', // IDN, punycoded by the parser
    'https://github.com./trailing-dot',
  ])('allows %s', (url) => {
    expect(isSafeExternalUrl(url)).toBe(true);
  });

  it.each([
    ['plain http', 'http://github.com/'],
    ['javascript:', 'javascript:alert(1)'],
    ['file:', 'file:///etc/passwd'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['a custom scheme', 'app://airlock/index.html'],
    ['credentials', 'https://user:secret@github.com/'],
    ['a user name', 'https://user@github.com/'],
    ['an IPv4 literal', 'https://93.184.215.14/'],
    ['a private IPv4 literal', 'https://192.168.1.1:8443/'],
    ['loopback as one number', 'https://2130706433/'],
    ['loopback in hex', 'https://0x7f.0.0.1/'],
    ['an IPv6 literal', 'https://[::1]/'],
    ['an IPv4-mapped IPv6 literal', 'https://[::ffff:127.0.0.1]/'],
    ['localhost', 'https://localhost/'],
    ['a localhost subdomain', 'https://api.localhost/'],
    ['mDNS .local', 'https://printer.local/'],
    ['a single-label host', 'https://intranet/'],
    ['a reserved .test name', 'https://api.vendor.test/'],
    ['a .internal name', 'https://metadata.google.internal/'],
    ['garbage', 'not a url'],
    ['empty', ''],
    ['an overlong URL', `https://github.com/${'a'.repeat(3000)}`],
  ])('refuses %s', (_why, url) => {
    expect(isSafeExternalUrl(url)).toBe(false);
  });
});

describe('the main window', () => {
  it('is sandboxed, context-isolated, without Node, with web security, and loads our page', () => {
    const window = createMainWindow({ preloadPath: builtPreloadPath(), entryUrl: APP_ENTRY_URL, devTools: false }) as unknown as FakeBrowserWindow;
    const prefs = window.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      devTools: false,
    });
    expect(prefs.preload).toMatch(/[\\/]preload[\\/]index\.cjs$/);
    expect(window.loadedUrl).toBe(APP_ENTRY_URL);
  });

  it('uses the dev server only when unpackaged and only on loopback', () => {
    const dev = { ELECTRON_RENDERER_URL: 'http://localhost:5173' };
    expect(rendererEntryUrl(dev, false)).toBe('http://localhost:5173');
    expect(rendererEntryUrl(dev, true)).toBe(APP_ENTRY_URL);
    expect(rendererEntryUrl({ ELECTRON_RENDERER_URL: 'https://evil.example.com' }, false)).toBe(APP_ENTRY_URL);
    expect(rendererEntryUrl({}, false)).toBe(APP_ENTRY_URL);
  });
});

describe('menu and paths', () => {
  it.each(['linux', 'darwin', 'win32'] as const)('the %s menu has no reload accelerator, and dev tools only when asked', (platform) => {
    expect(JSON.stringify(appMenuTemplate(platform, false))).not.toMatch(/reload|devtools/i);
    expect(JSON.stringify(appMenuTemplate(platform, true))).toMatch(/toggleDevTools/);
  });

  it('finds assets/ in the checkout, and beside the resources when packaged', () => {
    expect(builtAssetsDir(false, undefined)).toBe(path.join(repoRoot, 'assets'));
    expect(builtAssetsDir(true, '/opt/Airlock/resources')).toBe(path.join('/opt/Airlock/resources', 'assets'));
  });
});

describe('web contents limits', () => {
  let contents: FakeWebContents;
  beforeEach(() => {
    contents = new FakeWebContents();
    shell.openExternal.mockClear();
    applyWebContentsLimits(contents as never, isAppUrlFor(APP_ORIGIN));
  });

  it.each(['will-navigate', 'will-frame-navigate', 'will-redirect'])('%s: blocks other origins, allows our own', (eventName) => {
    for (const url of ['https://evil.example.com/', 'file:///etc/passwd', 'app://other/index.html', 'http://localhost:5173/']) {
      const event = navigationEvent(url);
      contents.emit(eventName, event);
      expect(event.preventDefault, url).toHaveBeenCalled();
    }
    const own = navigationEvent(`${APP_ORIGIN}/index.html#/tasks`);
    contents.emit(eventName, own);
    expect(own.preventDefault).not.toHaveBeenCalled();
  });

  it('refuses <webview>', () => {
    const event = { preventDefault: vi.fn() };
    contents.emit('will-attach-webview', event, {}, {});
    expect(event.preventDefault).toHaveBeenCalled();
  });

  it('denies window.open; only a safe https link goes to the OS browser', () => {
    const open = contents.windowOpenHandler!;
    expect(open({ url: 'https://docs.docker.com/' })).toEqual({ action: 'deny' });
    expect(shell.openExternal).toHaveBeenCalledExactlyOnceWith('https://docs.docker.com/');
    for (const url of ['http://github.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'slack://open', 'vscode://file/etc/passwd', 'https://localhost/', `${APP_ORIGIN}/index.html`]) {
      expect(open({ url })).toEqual({ action: 'deny' });
    }
    expect(shell.openExternal).toHaveBeenCalledTimes(1);
  });
});

describe('session limits', () => {
  const session = new FakeSession();
  beforeAll(() => applySessionLimits(session as never, CONTENT_SECURITY_POLICY));

  it('refuses every permission request, check and device', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      const callback = vi.fn();
      session.permissionRequestHandler!({}, permission, callback, {});
      expect(callback).toHaveBeenCalledExactlyOnceWith(false);
      expect(session.permissionCheckHandler!({}, permission, APP_ORIGIN, {})).toBe(false);
    }
    expect(session.devicePermissionHandler!({ deviceType: 'usb' })).toBe(false);
  });

  it('cancels downloads', () => {
    const event = { preventDefault: vi.fn() };
    session.emit('will-download', event, {}, {});
    expect(event.preventDefault).toHaveBeenCalled();
  });

  it('puts our CSP on every response, replacing any the response brought', () => {
    const callback = vi.fn();
    session.headersReceivedListener!({ responseHeaders: { 'content-security-policy': ["default-src *"], 'Content-Type': ['text/html'] } }, callback);
    expect(callback).toHaveBeenCalledExactlyOnceWith({
      responseHeaders: { 'Content-Type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
    expect(withContentSecurityPolicy(undefined, 'x')).toEqual({ 'Content-Security-Policy': ['x'] });
  });

  it('applies once per session', () => {
    const first = session.permissionRequestHandler;
    applySessionLimits(session as never, "default-src *");
    expect(session.permissionRequestHandler).toBe(first);
  });

  it('matches the CSP meta tag in renderer/index.html, which is strict', async () => {
    const html = await readFile(path.join(repoRoot, 'renderer/index.html'), 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
    expect(meta?.[1]).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|unsafe-inline/);
  });
});

describe('app:// protocol', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'airlock-renderer-'));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Airlock</title>');
    await writeFile(path.join(dir, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(path.join(path.dirname(dir), 'airlock-secret.txt'), 'secret');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(path.join(path.dirname(dir), 'airlock-secret.txt'), { force: true });
  });

  it('serves the renderer files with the CSP and nosniff headers', async () => {
    const response = await respondWithAppFile(`${APP_ORIGIN}/assets/app.js`, dir, CONTENT_SECURITY_POLICY);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toBe('console.log(1)');
    expect(resolveAppFile(`${APP_ORIGIN}/`, dir)).toBe(path.join(dir, 'index.html'));
    expect(resolveAppFile(`${APP_ORIGIN}/assets/%2e%2e%2f%2e%2e%2fairlock-secret.txt`, dir)).toBeNull();
  });

  it.each([
    `${APP_ORIGIN}/../airlock-secret.txt`,
    `${APP_ORIGIN}/%2e%2e/airlock-secret.txt`,
    `${APP_ORIGIN}/assets/%2e%2e%2f%2e%2e%2fairlock-secret.txt`,
    `${APP_ORIGIN}/..%5cairlock-secret.txt`,
    `${APP_ORIGIN}/index.html%00.js`,
    'app://other-host/index.html',
    'file:///etc/passwd',
  ])('never serves anything outside the renderer directory for %s', async (url) => {
    // The URL parser already folds plain `..` segments; whatever is left must stay inside `dir`.
    const file = resolveAppFile(url, dir);
    if (file !== null) expect(path.relative(dir, file)).not.toMatch(/^\.\./);
    const response = await respondWithAppFile(url, dir, CONTENT_SECURITY_POLICY);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('secret');
  });

  it('answers 404 for a missing file', async () => {
    expect((await respondWithAppFile(`${APP_ORIGIN}/nope.js`, dir, CONTENT_SECURITY_POLICY)).status).toBe(404);
  });
});
