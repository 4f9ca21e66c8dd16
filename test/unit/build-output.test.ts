/**
 * What `electron-vite build` produces is what Electron loads, so check it where the Electron
 * binary is missing: the preload must be one self-contained CommonJS script (a sandboxed preload
 * can require nothing but Electron's own modules), and the page must keep its strict CSP.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../main/security.js';

vi.mock('electron', async () => (await import('./fake-electron.js')).fakeElectron);

const repoRoot = path.resolve(import.meta.dirname, '../..');
const out = (...parts: string[]) => path.join(repoRoot, 'out', ...parts);

beforeAll(() => {
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
    cwd: repoRoot,
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    stdio: 'pipe',
  });
}, 120_000);

describe('built output', () => {
  it('main: one ES module that finds the preload and renderer next to it', () => {
    const main = readFileSync(out('main', 'index.js'), 'utf8');
    const imports = [...main.matchAll(/^import .* from "([^"]+)";$/gm)].map((match) => match[1]!);
    expect(imports.filter((specifier) => specifier.startsWith('.'))).toEqual([]);
    expect(main).toContain('"../preload/index.cjs"');
    expect(main).toContain('"../renderer/"');
  });

  it('preload: a single CommonJS file that requires only electron', () => {
    expect(readdirSync(out('preload'))).toEqual(['index.cjs']);
    const preload = readFileSync(out('preload', 'index.cjs'), 'utf8');
    expect(preload).not.toMatch(/^\s*(import|export)\s/m);
    const required = [...preload.matchAll(/require\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((match) => match[1]);
    expect(new Set(required)).toEqual(new Set(['electron']));
  });

  it('preload: runs in a sandbox-like context whose require knows only electron', () => {
    const exposed = new Map<string, unknown>();
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
      ipcRenderer: { invoke: () => Promise.resolve({ ok: true, value: null }) },
    };
    const sandboxRequire = (id: string) => {
      if (id === 'electron') return electron;
      throw new Error(`a sandboxed preload cannot require ${id}`);
    };
    const module = { exports: {} };
    vm.runInNewContext(readFileSync(out('preload', 'index.cjs'), 'utf8'), { require: sandboxRequire, module, exports: module.exports });
    expect([...exposed.keys()]).toEqual(['airlock']);
  });

  it('renderer: index.html with the strict CSP, no inline script, relative asset paths', () => {
    const html = readFileSync(out('renderer', 'index.html'), 'utf8');
    expect(/<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html)?.[1]).toBe(CONTENT_SECURITY_POLICY);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="\.\/assets\/[^"]+\.js"/);
      expect(body!.trim()).toBe('');
    }
    for (const [, asset] of html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)) {
      expect(existsSync(out('renderer', asset!)), asset).toBe(true);
    }
  });
});

describe('the built main bundle, with a stubbed electron', () => {
  it('creates the window with the built preload and the built renderer entry, both on disk', async () => {
    const { app, FakeBrowserWindow, protocol } = await import('./fake-electron.js');
    await import(/* @vite-ignore */ pathToFileURL(out('main', 'index.js')).href);
    app.becomeReady();
    await vi.waitFor(() => expect(FakeBrowserWindow.created).toHaveLength(1));
    const window = FakeBrowserWindow.created[0]!;
    const preload = (window.options.webPreferences as { preload: string }).preload;
    expect(preload).toBe(out('preload', 'index.cjs'));
    expect(existsSync(preload)).toBe(true);
    expect(window.loadedUrl).toBe('app://airlock/index.html');
    // What app:// answers for the entry is the built renderer's index.html.
    const serve = protocol.handlers.get('app')!;
    const response = (await serve({ url: window.loadedUrl })) as Response;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(readFileSync(out('renderer', 'index.html'), 'utf8'));
  });
});
