/**
 * The composition root: the only file that wires Electron to the core. It creates the core
 * objects, registers one IPC handler per contract channel, applies the security limits to every
 * web contents, and opens the window.
 */
import { app, ipcMain, protocol, type BrowserWindow } from 'electron';
import { registerAppSchemeAsPrivileged, serveAppProtocol } from './app-protocol.js';
import { EventBus } from './core/audit/bus.js';
import { AuditStore } from './core/audit/store.js';
import { openHeadSigner, recordBusInTrail } from './core/audit/trail.js';
import { Keychain } from './core/credentials/keychain.js';
import { airlockHome, homeLayout } from './core/home.js';
import { reapLeftovers } from './core/tasks/reaper.js';
import { Engine } from './core/engine/engine.js';
import { AirlockError, isAirlockError } from './core/errors.js';
import { registerAppHandlers } from './ipc/app.js';
import { registerDoctorHandlers } from './ipc/doctor.js';
import { createIpcRegistrar } from './ipc/register.js';
import { applySessionLimits, applyWebContentsLimits, CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY } from './security.js';
import {
  appOriginOf,
  builtPreloadPath,
  builtRendererDir,
  createMainWindow,
  isAppUrlFor,
  isOwnWebContents,
  rendererEntryUrl,
} from './window.js';

// Everything up to `start()` runs synchronously while the ESM entry loads, i.e. before `ready`,
// which is when Electron accepts these two calls.
app.enableSandbox();
registerAppSchemeAsPrivileged(protocol);

const entryUrl = rendererEntryUrl(process.env, app.isPackaged);
const isAppUrl = isAppUrlFor(appOriginOf(entryUrl));
const contentSecurityPolicy = entryUrl.startsWith('http:') ? DEV_CONTENT_SECURITY_POLICY : CONTENT_SECURITY_POLICY;

let mainWindow: BrowserWindow | null = null;

if (app.requestSingleInstanceLock()) {
  start();
} else {
  // Another Airlock is running; it gets focus through its 'second-instance' event.
  app.quit();
}

function start(): void {
  app.on('web-contents-created', (_event, contents) => {
    applyWebContentsLimits(contents, isAppUrl);
    applySessionLimits(contents.session, contentSecurityPolicy);
  });
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (app.isReady() && mainWindow === null) openMainWindow();
  });
  // Not awaited at the top level: that would hold the ESM entry open and `ready` would never come.
  app.whenReady().then(onReady).catch((error: unknown) => {
    console.error('Airlock failed to start', error);
    app.exit(1);
  });
}

function onReady(): void {
  serveAppProtocol(protocol, builtRendererDir(), CONTENT_SECURITY_POLICY);

  const keychain = new Keychain();
  let engine: Engine | undefined;
  const connectEngine = (): Engine => (engine ??= connectOrExplain());

  // Like every CLI start, every app start removes what crashed Airlock processes left behind.
  const home = homeLayout(airlockHome());
  const bus = new EventBus();
  try {
    recordBusInTrail(bus, new AuditStore({ dir: home.audit, signer: openHeadSigner(keychain) }));
  } catch {
    // no keychain: doctor.run shows it, with the fix; tasks are refused until it is there
  }
  try {
    void reapLeftovers(connectEngine(), bus).catch(() => undefined);
  } catch {
    // an unusable DOCKER_HOST is shown by doctor.run in the window
  }

  const registrar = createIpcRegistrar(ipcMain, { isOwnWebContents, isAppUrl });
  registerAppHandlers(registrar.handle, { version: app.getVersion() });
  registerDoctorHandlers(registrar.handle, { engine: connectEngine, keychain });
  registrar.assertAllChannelsHandled();

  openMainWindow();
}

function openMainWindow(): void {
  mainWindow = createMainWindow({ preloadPath: builtPreloadPath(), entryUrl, devTools: !app.isPackaged });
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
}

/** Engine.connect() throws a plain Error for an unusable DOCKER_HOST; give it a kind and a fix. */
function connectOrExplain(): Engine {
  try {
    return Engine.connect();
  } catch (error) {
    if (isAirlockError(error)) throw error;
    throw new AirlockError('engine_unavailable', (error as Error).message, 'fix or unset DOCKER_HOST, then press Refresh', { cause: error });
  }
}
