// Lint rules: core is Electron-free and shared by the app and the CLI; the renderer reaches the
// main process only through renderer/src/lib/api.ts. The layers inside main/core (and no cycles)
// are checked by dependency-cruiser: .dependency-cruiser.cjs, also run by `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const electronImports = {
  paths: [
    { name: 'electron', message: 'main/core must run under plain Node: keep Electron in main/index.ts, main/ipc or main/window.ts.' },
  ],
  patterns: [
    { group: ['electron/*', '@electron/*', '@electron-toolkit/*'], message: 'main/core must not import Electron.' },
  ],
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'demo-output/**', 'assets/agents/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['main/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        ...electronImports,
        patterns: [
          ...electronImports.patterns,
          { group: ['**/cli/**', '**/ipc/**', '**/window', '**/security', '../index', '../../index'], message: 'main/core must not import from outer layers (cli, ipc, the Electron main).' },
        ],
      }],
    },
  },
  {
    files: ['main/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', electronImports] },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    ignores: ['renderer/src/lib/api.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'airlock', message: 'Use renderer/src/lib/api.ts.' }],
      'no-restricted-syntax': ['error', {
        selector: "MemberExpression[object.name='window'][property.name='airlock']",
        message: 'Only renderer/src/lib/api.ts may touch window.airlock.',
      }],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.mjs', 'assets/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // Agents for the tests, run by Node 24 inside a sandbox: its fetch and WebSocket are globals.
    files: ['test/fixtures/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', fetch: 'readonly', WebSocket: 'readonly', setTimeout: 'readonly' } },
  },
  {
    // CommonJS run by plain Node: the CLI bundle's stubs and the task's sidecar.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', process: 'readonly', Buffer: 'readonly', console: 'readonly', __dirname: 'readonly', setTimeout: 'readonly', setInterval: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
