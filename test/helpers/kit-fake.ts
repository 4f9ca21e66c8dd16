// What the kit tests share: the stand-in claude-code package (test/fixtures/kit-fake) packed with
// npm, and a pretend Anthropic endpoint on this machine (a `.test` name, a CA made for the test)
// that records which key each request carried.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { CLI, REPO, tempDir } from './env.js';

export const FAKE_KIT_VERSION = '0.0.1-airlock-test';
export const FAKE_KIT_IMAGE = `airlock/kit-claude-code:${FAKE_KIT_VERSION}`;
export const PRETEND_HOST = 'api.anthropic.test';

/** `npm pack` of the stand-in package: the tarball's path. */
export function packFakeKit(): string {
  const dir = tempDir('airlock-kit-pack-');
  execFileSync('npm', ['pack', path.join(REPO, 'test', 'fixtures', 'kit-fake'), '--pack-destination', dir, '--loglevel=error'], { stdio: 'ignore' });
  return path.join(dir, `anthropic-ai-claude-code-${FAKE_KIT_VERSION}.tgz`);
}

type Certificates = { caPem: string; certPem: string; key: string };

/** An HTTPS server for PRETEND_HOST on 127.0.0.1 that answers 200 and records each request's x-api-key. */
export async function startPretendAnthropic(): Promise<{ port: number; caFile: string; seen: { path: string; key: string | undefined }[]; close: () => void }> {
  const lib = (await import(path.join(REPO, 'scripts', 'demo-lib.mjs'))) as { makeCertificates: (host: string) => Promise<Certificates> };
  const certs = await lib.makeCertificates(PRETEND_HOST);
  const caFile = path.join(tempDir('airlock-kit-ca-'), 'ca.pem');
  fs.writeFileSync(caFile, certs.caPem);
  const seen: { path: string; key: string | undefined }[] = [];
  const server = https.createServer({ cert: certs.certPem, key: certs.key }, (req, res) => {
    const key = req.headers['x-api-key'];
    seen.push({ path: req.url ?? '', key: typeof key === 'string' ? key : undefined });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"pretend":"anthropic"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as net.AddressInfo).port, caFile, seen, close: () => server.close() };
}

/** `airlock cred add <name> --host <host> --header <template>` with the secret on stdin, as a user would. */
export function storeCredential(env: NodeJS.ProcessEnv, name: string, host: string, header: string, secret: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'cred', 'add', name, '--host', host, '--header', header], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(secret);
  });
}
