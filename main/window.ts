/**
 * The app window: sandboxed, context-isolated, no Node in the page, and the only windows whose
 * IPC main/ipc will answer. Paths resolve from the built output (out/main/index.js), so they hold
 * in `electron-vite preview` and in the packaged app alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, nativeTheme, type MenuItemConstructorOptions, type WebContents } from 'electron';
import { APP_ENTRY_URL, APP_ORIGIN } from './app-protocol.js';
import { isSameOrigin } from './security.js';

/** The sandboxed preload: one self-contained CommonJS file (a sandboxed preload cannot require). */
export function builtPreloadPath(): string {
  return fileURLToPath(new URL('../preload/index.cjs', import.meta.url));
}

/** The built renderer directory that app:// serves. */
export function builtRendererDir(): string {
  return fileURLToPath(new URL('../renderer/', import.meta.url));
}

/**
 * assets/ (built-in agents, the gateway relay, the image's Dockerfile): beside the app's resources
 * when packaged (electron-builder.yml copies it there as real files, outside the asar, because the
 * engine is handed some of them), else the checkout's, found upwards from out/main.
 */
export function builtAssetsDir(isPackaged: boolean, resourcesPath: string | undefined): string {
  if (isPackaged && resourcesPath) return path.join(resourcesPath, 'assets');
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'assets');
    if (fs.existsSync(path.join(candidate, 'agents'))) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve(fileURLToPath(new URL('../../assets', import.meta.url)));
}

/**
 * The application menu: edit and window roles (so copy, paste and quit work everywhere), but no
 * reload accelerators — Ctrl/Cmd+R is the renderer's "run" shortcut — and developer tools only
 * in unpackaged builds.
 */
export function appMenuTemplate(platform: NodeJS.Platform, devTools: boolean): MenuItemConstructorOptions[] {
  const menu: MenuItemConstructorOptions[] = [];
  menu.push(platform === 'darwin' ? { role: 'appMenu' } : { role: 'fileMenu' });
  menu.push({ role: 'editMenu' });
  if (devTools) menu.push({ label: 'View', submenu: [{ role: 'toggleDevTools' }] });
  menu.push({ role: 'windowMenu' });
  return menu;
}

/**
 * Where the window loads its page from: the Vite dev server during `electron-vite dev` (only when
 * unpackaged, and only from loopback), otherwise the built renderer over app://.
 */
export function rendererEntryUrl(env: NodeJS.ProcessEnv, isPackaged: boolean): string {
  const devUrl = env.ELECTRON_RENDERER_URL;
  if (!isPackaged && devUrl && isLoopbackHttpUrl(devUrl)) return devUrl;
  return APP_ENTRY_URL;
}

/** Our own origin for the given entry URL: app://airlock, or the dev server's. */
export function appOriginOf(entryUrl: string): string {
  if (entryUrl === APP_ENTRY_URL) return APP_ORIGIN;
  const url = new URL(entryUrl);
  return `${url.protocol}//${url.host}`;
}

export function isAppUrlFor(appOrigin: string): (url: string) => boolean {
  return (url) => isSameOrigin(url, appOrigin);
}

function isLoopbackHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

/** ids of the web contents of windows we created: main/ipc refuses every other sender. */
const ownWebContentsIds = new Set<number>();

export function isOwnWebContents(contents: Pick<WebContents, 'id'>): boolean {
  return ownWebContentsIds.has(contents.id);
}

export interface MainWindowOptions {
  preloadPath: string;
  entryUrl: string;
  /** Developer tools only in unpackaged builds. */
  devTools: boolean;
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const mainWindow = new BrowserWindow({
    title: 'Airlock',
    width: 1100,
    height: 760,
    minWidth: 640,
    minHeight: 420,
    show: false,
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#17191c' : '#ffffff',
    webPreferences: {
      preload: options.preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: options.devTools,
    },
  });
  const contentsId = mainWindow.webContents.id;
  ownWebContentsIds.add(contentsId);
  mainWindow.on('closed', () => ownWebContentsIds.delete(contentsId));
  mainWindow.once('ready-to-show', () => mainWindow.show());
  void mainWindow.loadURL(options.entryUrl);
  return mainWindow;
}
