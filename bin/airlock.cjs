#!/usr/bin/env node
// The `airlock` command: a thin launcher for the bundled CLI in out/cli (built by `npm ci` /
// `npm run build:cli`). CommonJS on purpose: require() of the bundle starts ~20 ms sooner than an
// ES-module import of it, and start-up is most of a short task's overhead.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`airlock: Node.js >= 22.12 is required (this is ${process.version}); install Node 24 LTS`);
  process.exit(125);
}
const entry = path.join(__dirname, '..', 'out', 'cli', 'airlock.cjs');
if (!fs.existsSync(entry)) {
  console.error('airlock: the CLI is not built yet: run `npm run build:cli` (npm ci does it for you)');
  process.exit(125);
}
require('node:module').enableCompileCache?.();
require(entry);
