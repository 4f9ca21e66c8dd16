/**
 * A stand-in for the `electron` module (its binary cannot be downloaded on build machines).
 * It records what our code asks of Electron — window options, handlers, listeners — so tests can
 * drive those handlers the way Electron would. Use with
 * `vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron)`.
 */
import { EventEmitter } from 'node:events';
import { vi } from 'vitest';

type Listener = (...args: unknown[]) => unknown;

export class FakeSession extends EventEmitter {
  permissionRequestHandler: Listener | null = null;
  permissionCheckHandler: Listener | null = null;
  devicePermissionHandler: Listener | null = null;
  headersReceivedListener: Listener | null = null;
  readonly webRequest = {
    onHeadersReceived: (listener: Listener) => {
      this.headersReceivedListener = listener;
    },
  };
  setPermissionRequestHandler(handler: Listener | null): void {
    this.permissionRequestHandler = handler;
  }
  setPermissionCheckHandler(handler: Listener | null): void {
    this.permissionCheckHandler = handler;
  }
  setDevicePermissionHandler(handler: Listener | null): void {
    this.devicePermissionHandler = handler;
  }
}

let nextWebContentsId = 1;

export class FakeWebContents extends EventEmitter {
  readonly id = nextWebContentsId++;
  readonly session: FakeSession;
  /** What main sent to this page: [channel, payload]. */
  readonly sent: [string, unknown][] = [];
  destroyed = false;
  send(channel: string, payload: unknown): void {
    this.sent.push([channel, payload]);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  constructor(session = new FakeSession()) {
    super();
    this.session = session;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static readonly created: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  readonly options: Record<string, unknown>;
  loadedUrl: string | null = null;
  shown = false;
  constructor(options: Record<string, unknown>) {
    super();
    this.options = options;
    FakeBrowserWindow.created.push(this);
  }
  loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    return Promise.resolve();
  }
  show(): void {
    this.shown = true;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  focus(): void {}
}

class FakeApp extends EventEmitter {
  isPackaged = false;
  singleInstanceLock = true;
  readonly enableSandbox = vi.fn();
  readonly quit = vi.fn();
  readonly exit = vi.fn();
  private ready = false;
  private resolveReady!: () => void;
  private readonly readyPromise = new Promise<void>((resolve) => {
    this.resolveReady = resolve;
  });
  requestSingleInstanceLock(): boolean {
    return this.singleInstanceLock;
  }
  getVersion(): string {
    return '0.0.0-test';
  }
  /** Where the app's package.json is: the repository, as in `npm start`. */
  getAppPath(): string {
    return '/repo/airlock';
  }
  isReady(): boolean {
    return this.ready;
  }
  whenReady(): Promise<void> {
    return this.readyPromise;
  }
  /** What Electron does once it has initialised. */
  becomeReady(): void {
    this.ready = true;
    this.resolveReady();
  }
}

export const app = new FakeApp();
export const ipcMainHandlers = new Map<string, Listener>();
export const exposedInMainWorld = new Map<string, unknown>();
export const shell = { openExternal: vi.fn(() => Promise.resolve()) };
/** The renderer side: invoke, and push listeners by channel. */
export const ipcRenderer = Object.assign(new EventEmitter(), {
  invoke: vi.fn((..._args: unknown[]) => Promise.resolve<unknown>(undefined)),
});
/** The preload's view of dropped files: a File has a path only when a test gave it one here. */
export const filePaths = new WeakMap<object, string>();
export const webUtils = { getPathForFile: vi.fn((file: object) => filePaths.get(file) ?? '') };
export const menu = { template: null as unknown, setApplicationMenu: vi.fn() };
export const dialog = {
  showOpenDialog: vi.fn(() => Promise.resolve({ canceled: true, filePaths: [] as string[] })),
  showSaveDialog: vi.fn(() => Promise.resolve({ canceled: true, filePath: '' })),
};
export const protocol = {
  privilegedSchemes: [] as unknown[],
  handlers: new Map<string, Listener>(),
  registerSchemesAsPrivileged(schemes: unknown[]) {
    this.privilegedSchemes = schemes;
  },
  handle(scheme: string, handler: Listener) {
    this.handlers.set(scheme, handler);
  },
};

export const fakeElectron = {
  app,
  shell,
  dialog,
  Menu: {
    buildFromTemplate: (template: unknown) => {
      menu.template = template;
      return { template };
    },
    setApplicationMenu: menu.setApplicationMenu,
  },
  protocol,
  ipcRenderer,
  webUtils,
  BrowserWindow: FakeBrowserWindow,
  nativeTheme: { shouldUseDarkColors: false },
  ipcMain: {
    handle: (channel: string, listener: Listener) => {
      ipcMainHandlers.set(channel, listener);
    },
  },
  contextBridge: {
    exposeInMainWorld: (key: string, api: unknown) => {
      exposedInMainWorld.set(key, api);
    },
  },
};

export default fakeElectron;

/** A cancellable Electron event carrying a URL, as will-navigate and friends receive. */
export function navigationEvent(url: string): { url: string; preventDefault: ReturnType<typeof vi.fn> } {
  return { url, preventDefault: vi.fn() };
}
