/**
 * The composition root of the app: the only file that wires Electron. The app runs no core of its
 * own: it is a client of the user's Airlock engine (a process of its own, started in the background
 * when none runs, so a gateway crash can never take the window down). It registers one IPC handler
 * per contract channel, each forwarding to the engine over the calling page's own connection,
 * applies the security limits to every web contents, and opens the window.
 */
import { app, dialog, ipcMain, Menu, protocol, shell, type BrowserWindow, type OpenDialogOptions } from 'electron';
import { registerAppSchemeAsPrivileged, serveAppProtocol } from './app-protocol.js';
import { createAirlock, type Airlock } from './core/airlock.js';
import { connectEngine } from './core/server/connect.js';
import { registerAppHandlers } from './ipc/app.js';
import { installLastResort } from './core/tasks/last-resort.js';
import { electronEngineSpawn, EngineConnections, type Connect } from './ipc/engine-link.js';
import type { ArtifactFilePorts } from './ipc/artifacts.js';
import { registerForwardingHandlers, type Dialogs } from './ipc/forward.js';
import { localEngine } from './ipc/local-engine.js';
import type { RunDialogs } from './ipc/run-files.js';
import { createIpcRegistrar } from './ipc/register.js';
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
let connections: EngineConnections | undefined;
/** The core, only when the app runs it in its own process (AIRLOCK_ENGINE=inprocess). */
let inProcess: Airlock | undefined;

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
  // The window's connections are closed before the app goes (its screen watches end, its control
  // is given back); tasks go on in the engine. In-process, the core stops its tasks and flushes.
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing || !connections) return;
    event.preventDefault();
    closing = true;
    connections.closeAll()
      .then(() => inProcess?.close())
      .catch(() => undefined)
      .finally(() => app.quit());
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

  connections = new EngineConnections(engineConnector());

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

  const artifactFiles: ArtifactFilePorts = {
    chooseSaveFile: async (defaultName) => {
      const options = { title: 'Save the artifact', defaultPath: defaultName };
      const result = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options);
      return result.canceled ? undefined : result.filePath;
    },
    showItemInFolder: (file) => shell.showItemInFolder(file),
  };

  const showOpen = async (options: OpenDialogOptions): Promise<string[]> => {
    const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
    return result.canceled ? [] : result.filePaths;
  };
  // The run dialog's files: main shows these and keeps the paths; the window gets tokens (ipc/run-files.ts).
  const runDialogs: RunDialogs = {
    chooseProject: async () => (await showOpen({ title: 'Choose the project folder the agent gets a working copy of', properties: ['openDirectory'] }))[0],
    chooseInputs: (folders) => showOpen({ title: folders ? 'Choose input folders' : 'Choose input files', properties: [folders ? 'openDirectory' : 'openFile', 'multiSelections'] }),
    chooseOutputDir: async () => (await showOpen({ title: 'Choose the folder the outputs go to', properties: ['openDirectory', 'createDirectory'] }))[0],
  };

  const registrar = createIpcRegistrar(ipcMain, { isOwnWebContents, isAppUrl });
  registerAppHandlers(registrar.handle, { version: app.getVersion() });
  registerForwardingHandlers(registrar.handle, { engine: connections, dialogs, artifactFiles, runDialogs });
  registrar.assertAllChannelsHandled();

  openMainWindow();
}

function openMainWindow(): void {
  mainWindow = createMainWindow({ preloadPath: builtPreloadPath(), entryUrl, devTools: !app.isPackaged });
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
}

/**
 * How a page connects: to the user's engine, started (Electron's binary as Node, running the CLI
 * bundle) when none runs; or, with AIRLOCK_ENGINE=inprocess, to one core in this process.
 */
function engineConnector(): Connect {
  if (process.env.AIRLOCK_ENGINE === 'inprocess') {
    inProcess = createAirlock({ assetsDir: builtAssetsDir(app.isPackaged, process.resourcesPath) });
    // An error nothing handled: stop every task with an event, flush the trail, quit (never half-run).
    const core = inProcess;
    installLastResort({ process, live: core.live, flush: () => core.audit().flush().catch(() => undefined), exit: (code) => app.exit(code) });
    void core.reap();
    return localEngine(core);
  }
  const spawn = electronEngineSpawn(process.execPath, app.getAppPath());
  const connect: Connect = () => connectEngine({ spawn, client: 'app' });
  // Started now, while the window loads; its first call connects on its own (this one only starts it).
  void connect().then((client) => client.close()).catch(() => undefined);
  return connect;
}
