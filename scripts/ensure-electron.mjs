// Makes sure the Electron binary is there before `npm start` / `npm run dev`. `npm ci` runs with
// ELECTRON_SKIP_BINARY_DOWNLOAD=1 on machines that cannot download it, so fetch it on first use,
// and say plainly that the CLI works without it when the download is impossible.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');

/** The binary electron's own index.js would launch, if it exists. */
function installedBinary() {
  const pathFile = path.join(electronDir, 'path.txt');
  if (!fs.existsSync(pathFile)) return undefined;
  const relative = fs.readFileSync(pathFile, 'utf8').trim();
  const distDir = process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(electronDir, 'dist');
  const binary = path.join(distDir, relative);
  return relative && fs.existsSync(binary) ? binary : undefined;
}

function fail(reason) {
  console.error(`airlock: the Electron binary could not be downloaded (${reason}); the desktop app cannot start here, but the CLI (\`npx airlock\`) works without it.`);
  process.exit(1);
}

if (!fs.existsSync(path.join(electronDir, 'install.js'))) fail('node_modules/electron is missing: run `npm ci` first');
if (!installedBinary()) {
  console.log('airlock: downloading the Electron binary…');
  // electron's install.js silently does nothing while this is set.
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const result = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { cwd: electronDir, env, stdio: 'inherit' });
  if (result.error) fail(result.error.message);
  if (result.status !== 0) fail(`node_modules/electron/install.js exited with ${result.status ?? result.signal}`);
  if (!installedBinary()) fail('the install finished but node_modules/electron/dist has no binary');
}
