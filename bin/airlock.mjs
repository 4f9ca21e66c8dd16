#!/usr/bin/env node
// The `airlock` command: a thin launcher for the bundled CLI in out/cli (built by `npm ci` / `npm run build:cli`).
import { existsSync } from 'node:fs';
import module from 'node:module';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`airlock: Node.js >= 22.12 is required (this is ${process.version}); install Node 24 LTS`);
  process.exit(125);
}
const entry = new URL('../out/cli/airlock.cjs', import.meta.url);
if (!existsSync(entry)) {
  console.error('airlock: the CLI is not built yet: run `npm run build:cli` (npm ci does it for you)');
  process.exit(125);
}
module.enableCompileCache?.();
await import(entry.href);
