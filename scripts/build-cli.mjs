// Bundles the CLI (main/cli + main/core + its dependencies) into CommonJS files in out/cli:
// airlock.cjs (the CLI, a client of the engine) and engine.cjs (the core: the engine process and
// AIRLOCK_ENGINE=inprocess), which airlock.cjs loads only when it runs the core itself, and
// engine-main.cjs (the background engine's program, the core without the CLI). One file
// loads several times faster than hundreds of node_modules files, which is most of the CLI's
// start-up time. Runs on `npm ci` (prepare), so `npx airlock` works straight after install.
// Native addons stay in node_modules and load from there.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { build } from 'esbuild';

const unusedTransports = {
  name: 'unused-transports',
  setup(b) {
    b.onResolve({ filter: /^(ssh2|@grpc\/grpc-js|@grpc\/proto-loader)$/ }, () => ({
      path: new URL('./cli-bundle/unsupported-transport.cjs', import.meta.url).pathname,
    }));
  },
};

// main/core/server/engine-entry.ts is engine.cjs: the CLI bundle requires it from beside itself.
const engineApart = {
  name: 'engine-apart',
  setup(b) {
    b.onResolve({ filter: /\/engine-entry\.js$/ }, (args) => (args.importer.endsWith('engine-entry.ts') ? undefined : { path: './engine.cjs', external: true }));
  },
};

const common = {
  outdir: 'out/cli',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22.12',
  // keyring is a native addon; ssh2's optional native crypto and cpu-features are tried and skipped.
  external: ['@napi-rs/keyring', 'cpu-features', '*.node'],
  define: { 'import.meta.url': '__airlockModuleUrl' },
  banner: { js: 'const __airlockModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, entryPoints: { airlock: 'main/cli/entry.ts' }, plugins: [unusedTransports, engineApart] }),
  build({ ...common, entryPoints: { engine: 'main/core/server/engine-entry.ts' }, plugins: [unusedTransports] }),
  // What connectEngine starts: the engine without the CLI around it (requires engine.cjs).
  build({ ...common, entryPoints: { 'engine-main': 'main/core/server/engine-program.ts' }, plugins: [engineApart] }),
]);

// The build id (version + bundle digest) beside the bundle: a client and an engine of different
// builds tell each other so (main/core/server/build.ts).
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const digest = createHash('sha256');
for (const bundle of ['airlock.cjs', 'engine.cjs', 'engine-main.cjs']) digest.update(fs.readFileSync(`out/cli/${bundle}`));
fs.writeFileSync('out/cli/build.json', `${JSON.stringify({ version: pkg.version, digest: digest.digest('hex') })}\n`);
