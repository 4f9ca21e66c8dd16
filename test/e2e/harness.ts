/**
 * Everything an e2e test (or the UI benchmark) needs: a real AirlockService over the real engine,
 * the real keychain and a fresh AIRLOCK_HOME, served by the bridge; and the machine's Chromium,
 * driven by playwright-core (no browser download).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { EventBus } from '../../main/core/audit/bus.js';
import type { HeadSigner } from '../../main/core/audit/head.js';
import { AuditStore } from '../../main/core/audit/store.js';
import { openHeadSigner, recordBusInTrail } from '../../main/core/audit/trail.js';
import { systemClock } from '../../main/core/clock.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { Engine } from '../../main/core/engine/engine.js';
import { Gateway, type Dialer, type Resolver } from '../../main/core/gateway/gateway.js';
import { homeLayout } from '../../main/core/home.js';
import type { CredentialsPort } from '../../main/core/service/credentials-port.js';
import type { CredentialStore } from '../../main/core/credentials/store.js';
import { AirlockService } from '../../main/core/service/service.js';
import { startBridge, type Bridge } from './bridge.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const RENDERER_DIR = path.join(REPO, 'out', 'renderer');
export const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');

export interface AppUnderTest {
  root: string;
  home: ReturnType<typeof homeLayout>;
  bus: EventBus;
  engine: Engine;
  service: AirlockService;
  bridge: Bridge;
  /** What the "open manifest" and "save export" dialogs answer next. */
  dialogs: { manifest: string | undefined; exportFile: string | undefined };
  close(): Promise<void>;
}

export async function startAppUnderTest(options: {
  resolve?: Resolver; dial?: Dialer; credentialsFrom?: (home: string) => CredentialsPort; approvalTimeoutMs?: number;
  /** The store tasks are lent credentials from (the one credentialsFrom adapts, as in the app). */
  credentialStoreFrom?: (home: string) => CredentialStore;
  /** Signs the trail's head instead of the keychain's key (the UI benchmark, which needs no keychain). */
  signer?: HeadSigner;
} = {}): Promise<AppUnderTest> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-e2e-'));
  const home = homeLayout(path.join(root, 'home'));
  const bus = new EventBus(systemClock);
  const keychain = new Keychain();
  const engine = Engine.connect();
  let store: AuditStore | undefined;
  const audit = () => {
    if (!store) {
      store = new AuditStore({ dir: home.audit, signer: options.signer ?? openHeadSigner(keychain) });
      recordBusInTrail(bus, store);
    }
    return store;
  };
  audit();
  let gateway: Gateway | undefined;
  const service = new AirlockService({
    engine: () => engine, bus, audit, home, keychain, clock: systemClock, assetsDir: path.join(REPO, 'assets'),
    gateway: () => (gateway ??= new Gateway({
      bus, clock: systemClock, ...(options.resolve ? { resolve: options.resolve } : {}), ...(options.dial ? { dial: options.dial } : {}),
      ...(options.approvalTimeoutMs ? { approvalTimeoutMs: options.approvalTimeoutMs } : {}),
    })),
    ...(options.credentialsFrom ? { credentials: options.credentialsFrom(home.root) } : {}),
    ...(options.credentialStoreFrom ? { credentialStore: options.credentialStoreFrom(home.root) } : {}),
  });
  const dialogs: AppUnderTest['dialogs'] = { manifest: undefined, exportFile: undefined };
  const bridge = await startBridge({
    service, rendererDir: RENDERER_DIR,
    dialogs: { chooseManifest: async () => dialogs.manifest, chooseExportFile: async () => dialogs.exportFile },
  });
  return {
    root, home, bus, engine, service, bridge, dialogs,
    close: async () => {
      await bridge.close();
      await service.close();
      await gateway?.close();
      await store?.close();
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
