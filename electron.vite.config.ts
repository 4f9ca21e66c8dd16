import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { PluginOption } from 'vite';

const root = import.meta.dirname;

/**
 * In `electron-vite dev` only, drop the CSP meta tag: Vite's hot reload needs inline scripts and a
 * websocket, and the main process sends the matching dev policy as a header instead
 * (DEV_CONTENT_SECURITY_POLICY in main/security.ts). Built output keeps the strict tag.
 */
function stripCspMetaInDev(): PluginOption {
  return {
    name: 'airlock:strip-csp-meta-in-dev',
    apply: 'serve',
    transformIndexHtml: (html: string) => html.replace(/<meta\s+http-equiv="Content-Security-Policy"[^>]*>/i, ''),
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      // dockerode (cjs) and @napi-rs/keyring (native) load from node_modules at run time.
      externalizeDeps: true,
      rolldownOptions: {
        input: { index: resolve(root, 'main/index.ts') },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      // A sandboxed preload gets only a tiny require() for Electron's own modules: it must be one
      // CommonJS file with everything else bundled in, never an ES module or a chunk import.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [react(), stripCspMetaInDev()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      rolldownOptions: {
        input: resolve(root, 'renderer/index.html'),
      },
    },
  },
});
