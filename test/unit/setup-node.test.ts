/**
 * scripts/setup/node.sh, run by bash as setup.sh runs it: Node comes from the npm registry only
 * when it matches the sha512 pinned in the script. The registry here is a local HTTP server; the
 * machine's node is a stand-in that says it is too old.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childResult, REPO, tempDir } from '../helpers/env.js';

let server: http.Server;
let registry: string;
const served = new Map<string, Buffer>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (body) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** An npm package tarball (package/… inside) holding `files`. */
function tarball(files: Record<string, string>): Buffer {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'package', name)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package', name), text, { mode: 0o755 });
  }
  return execFileSync('tar', ['-czf', '-', '-C', dir, 'package']);
}

/** Runs bash with lib.sh and node.sh sourced, then `script`, with AIRLOCK_NODE_DIR and the local registry. */
function bash(script: string, env: NodeJS.ProcessEnv) {
  const prelude = `. '${REPO}/scripts/setup/lib.sh'; . '${REPO}/scripts/setup/node.sh'; PLATFORM=debian; `;
  return childResult(spawn('bash', ['-c', prelude + script], { env: { ...process.env, AIRLOCK_NPM_REGISTRY: registry, ...env } }));
}

describe('setup: Node from the npm registry', () => {
  it('a tarball that is not the pinned one is refused, and nothing is installed', async () => {
    const nodeDir = path.join(tempDir(), 'node24');
    // The machine's node: too old (what Debian bookworm has).
    const stubs = tempDir();
    fs.writeFileSync(path.join(stubs, 'node'), '#!/bin/sh\n[ "$1" = --version ] && echo v18.19.0\nexit 1\n', { mode: 0o755 });
    const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
    const version = /NODE_VERSION=(\S+)/.exec(fs.readFileSync(path.join(REPO, 'scripts/setup/node.sh'), 'utf8'))![1]!;
    served.set(`/node-linux-${arch}/-/node-linux-${arch}-${version}.tgz`, tarball({ 'bin/node': '#!/bin/sh\necho v24.99.0 pretend\n' }));
    const result = await bash('ensure_node', { AIRLOCK_NODE_DIR: nodeDir, PATH: `${stubs}:/usr/bin:/bin` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`!!! node-linux-${arch}@${version} from ${registry} is not the published package (sha512 differs)`);
    expect(result.stderr).toContain('fix: check the registry or proxy you use');
    expect(fs.existsSync(path.join(nodeDir, 'node_modules', `node-linux-${arch}`))).toBe(false);
    expect(fs.existsSync(path.join(nodeDir, 'bin', 'node'))).toBe(false);
  });

  it('a tarball with the pinned sha512 is unpacked where it belongs', async () => {
    const body = tarball({ 'bin/npm-cli.js': 'console.log("npm")\n', 'package.json': '{"name":"npm"}\n' });
    served.set('/npm/-/npm-11.0.0.tgz', body);
    const integrity = `sha512-${createHash('sha512').update(body).digest('base64')}`;
    const dest = path.join(tempDir(), 'node_modules', 'npm');
    const result = await bash(`fetch_package npm 11.0.0 '${integrity}' '${dest}'`, {});
    expect(result).toMatchObject({ code: 0 });
    expect(fs.readFileSync(path.join(dest, 'bin', 'npm-cli.js'), 'utf8')).toBe('console.log("npm")\n');
  });
});
