/**
 * Everything an e2e test (or the UI benchmark) needs: one real core (createAirlock: the real engine,
 * keychain and gateway, in a fresh AIRLOCK_HOME) whose handler table the bridge serves, a caller
 * per page, as the engine process serves its socket; and the machine's Chromium, driven by
 * playwright-core (no browser download). test/e2e/cli-to-app.test.ts serves a real engine process
 * instead (startBridge with connectEngine).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createAirlock, type Airlock } from '../../main/core/airlock.js';
import type { HeadSigner } from '../../main/core/audit/head.js';
import type { BuildKit } from '../../main/core/service/images.js';
import type { Dialer, Resolver } from '../../main/core/gateway/gateway.js';
import { localEngine } from '../../main/ipc/local-engine.js';
import { startBridge, type Bridge } from './bridge.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const RENDERER_DIR = path.join(REPO, 'out', 'renderer');
export const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');

export interface AppUnderTest {
  root: string;
  airlock: Airlock;
  home: Airlock['home'];
  bus: Airlock['bus'];
  service: Airlock['service'];
  bridge: Bridge;
  /** What the "open manifest" and "save export" dialogs answer next. */
  dialogs: { manifest: string | undefined; exportFile: string | undefined };
  /** The Artifacts tab's OS side: what the save dialog answers next (and the default name it was given), the files shown in the file manager. */
  artifactFiles: { saveAs: string | undefined; defaultNames: string[]; revealed: string[] };
  /** What the run dialog's project, inputs and output folder dialogs answer next. */
  runDialogs: { project: string | undefined; inputs: string[]; outputDir: string | undefined };
  close(): Promise<void>;
}

export async function startAppUnderTest(options: {
  resolve?: Resolver; dial?: Dialer; approvalTimeoutMs?: number;
  /** Signs the trail's head instead of the keychain's key (the UI benchmark, which needs no keychain). */
  signer?: HeadSigner;
  /** Builds kits' images (e.g. from a local tarball instead of the npm registry). */
  buildKit?: BuildKit;
} = {}): Promise<AppUnderTest> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-e2e-'));
  const airlock = createAirlock({
    home: path.join(root, 'home'), assetsDir: path.join(REPO, 'assets'),
    ...(options.signer ? { signer: options.signer } : {}),
    ...(options.buildKit ? { buildKit: options.buildKit } : {}),
    gateway: {
      ...(options.resolve ? { resolve: options.resolve } : {}), ...(options.dial ? { dial: options.dial } : {}),
      ...(options.approvalTimeoutMs ? { approvalTimeoutMs: options.approvalTimeoutMs } : {}),
    },
  });
  airlock.audit();
  const dialogs: AppUnderTest['dialogs'] = { manifest: undefined, exportFile: undefined };
  const artifactFiles: AppUnderTest['artifactFiles'] = { saveAs: undefined, defaultNames: [], revealed: [] };
  const runDialogs: AppUnderTest['runDialogs'] = { project: undefined, inputs: [], outputDir: undefined };
  const bridge = await startBridge({
    connect: localEngine(airlock), rendererDir: RENDERER_DIR,
    dialogs: { chooseManifest: async () => dialogs.manifest, chooseExportFile: async () => dialogs.exportFile },
    artifactFiles: {
      chooseSaveFile: async (defaultName) => (artifactFiles.defaultNames.push(defaultName), artifactFiles.saveAs),
      showItemInFolder: (file) => void artifactFiles.revealed.push(file),
    },
    runDialogs: { chooseProject: async () => runDialogs.project, chooseInputs: async () => runDialogs.inputs, chooseOutputDir: async () => runDialogs.outputDir },
  });
  return {
    root, airlock, home: airlock.home, bus: airlock.bus, service: airlock.service, bridge, dialogs, artifactFiles, runDialogs,
    close: async () => {
      await bridge.close();
      await airlock.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Builds the real renderer (and main and preload) as Electron would load it, into out/. */
export function buildRenderer(): void {
  execFileSync(process.execPath, [path.join(REPO, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: REPO, env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, stdio: 'pipe' });
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

/** The machine's Chromium (`apt-get install chromium`); CHROMIUM_PATH overrides where it is. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
  return candidates.find((p) => fs.existsSync(p));
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('no Chromium on this machine: install it (`apt-get install chromium`) or set CHROMIUM_PATH');
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}
