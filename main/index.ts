/**
 * The composition root: the only file that wires Electron to the core. It creates the core
 * objects and the application service, registers one IPC handler per contract channel, forwards
 * the service's pushes to the window, applies the security limits to every web contents, and
 * opens the window.
 */
import { app, dialog, ipcMain, Menu, protocol, type BrowserWindow } from 'electron';
import { registerAppSchemeAsPrivileged, serveAppProtocol } from './app-protocol.js';
import { EventBus } from './core/audit/bus.js';
import { AuditStore } from './core/audit/store.js';
import { openHeadSigner, recordBusInTrail } from './core/audit/trail.js';
import { systemClock } from './core/clock.js';
import { Keychain } from './core/credentials/keychain.js';
import { CredentialStore } from './core/credentials/store.js';
import { Engine } from './core/engine/engine.js';
import { AirlockError, isAirlockError } from './core/errors.js';
import { Gateway } from './core/gateway/gateway.js';
import { gatewayEnvironment } from './core/gateway/pinned-hosts.js';
import { airlockHome, homeLayout } from './core/home.js';
import { storeAsCredentialsPort } from './core/service/credentials-port.js';
import { AirlockService } from './core/service/service.js';
import { reapLeftovers } from './core/tasks/reaper.js';
import { installLastResort } from './core/tasks/last-resort.js';
import { haltTasksWhenTrailFails, LiveTasks } from './core/tasks/live-tasks.js';
import { registerAppHandlers } from './ipc/app.js';
import { forwardPushes } from './ipc/push.js';
import { createIpcRegistrar } from './ipc/register.js';
import { registerServiceHandlers, type Dialogs } from './ipc/service.js';
import { applySessionLimits, applyWebContentsLimits, CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY } from './security.js';
import {
  appMenuTemplate,
  appOriginOf,
  builtAssetsDir,
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
let service: AirlockService | undefined;

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
  // Running tasks are cancelled and their sandboxes removed before the app goes, and every
  // recorded event is made durable.
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing || !service) return;
    event.preventDefault();
    closing = true;
    service.close().catch(() => undefined).finally(() => app.quit());
  });
  // Not awaited at the top level: that would hold the ESM entry open and `ready` would never come.
  app.whenReady().then(onReady).catch((error: unknown) => {
    console.error('Airlock failed to start', error);
    app.exit(1);
  });
}

function onReady(): void {
  serveAppProtocol(protocol, builtRendererDir(), CONTENT_SECURITY_POLICY);
  // No reload/force-reload accelerators: Ctrl/Cmd+R means "run" in Airlock.
  Menu.setApplicationMenu(Menu.buildFromTemplate(appMenuTemplate(process.platform, !app.isPackaged)));

  const keychain = new Keychain();
  let engine: Engine | undefined;
  const connectEngine = (): Engine => (engine ??= connectOrExplain());

  const home = homeLayout(airlockHome());
  const bus = new EventBus(systemClock);
  const live = new LiveTasks();
  let store: AuditStore | undefined;
  const audit = (): AuditStore => {
    if (!store) {
      store = new AuditStore({ dir: home.audit, signer: openHeadSigner(keychain) });
      recordBusInTrail(bus, store);
      haltTasksWhenTrailFails(store, live);
    }
    return store;
  };
  // An error nothing handled: stop every task with an event, flush the trail, quit (never half-run).
  installLastResort({ process, live, flush: async () => store?.flush(), exit: (code) => app.exit(code) });
  try {
    audit();
  } catch {
    // no keychain: doctor.run shows it, with the fix; tasks are refused until it is there
  }
  const credentialStore = new CredentialStore(home.root, keychain);
  service = new AirlockService({
    engine: connectEngine, bus, audit, home, keychain, clock: systemClock, assetsDir: builtAssetsDir(app.isPackaged, process.resourcesPath),
    gateway: () => new Gateway({ bus, clock: systemClock, ...gatewayEnvironment() }),
    credentials: storeAsCredentialsPort(credentialStore),
    credentialStore,
    live,
  });
  // Like every CLI start, every app start removes what crashed Airlock processes left behind.
  try {
    void reapLeftovers(connectEngine(), bus, home.audit).catch(() => undefined);
  } catch {
    // an unusable DOCKER_HOST is shown by doctor.run in the window
  }

  const dialogs: Dialogs = {
    chooseManifest: async () => {
      const options = { title: 'Open an agent manifest', properties: ['openFile' as const], filters: [{ name: 'Agent manifests', extensions: ['yaml', 'yml'] }] };
      const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
      return result.canceled ? undefined : result.filePaths[0];
    },
    chooseExportFile: async (defaultName) => {
      const options = { title: 'Export the audit trail', defaultPath: defaultName };
      const result = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options);
      return result.canceled ? undefined : result.filePath;
    },
  };

  const registrar = createIpcRegistrar(ipcMain, { isOwnWebContents, isAppUrl });
  registerAppHandlers(registrar.handle, { version: app.getVersion() });
  registerServiceHandlers(registrar.handle, { service, dialogs });
  registrar.assertAllChannelsHandled();
  forwardPushes(service, () => mainWindow?.webContents);

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
