// What the kit tests share: the stand-in claude-code package (test/fixtures/kit-fake) packed with
// npm, and a pretend Anthropic endpoint on this machine (a `.test` name, a CA made for the test)
// that records which key each request carried.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO, tempDir } from './env.js';
import { startPretendHttps } from './providers/pretend-https.js';

export const FAKE_KIT_VERSION = '0.0.1-airlock-test';
export const FAKE_KIT_IMAGE = `airlock/kit-claude-code:${FAKE_KIT_VERSION}`;
export const PRETEND_HOST = 'api.anthropic.test';

/** `npm pack` of the stand-in package: the tarball's path. */
export function packFakeKit(): string {
  const dir = tempDir('airlock-kit-pack-');
  execFileSync('npm', ['pack', path.join(REPO, 'test', 'fixtures', 'kit-fake'), '--pack-destination', dir, '--loglevel=error'], { stdio: 'ignore' });
  return path.join(dir, `anthropic-ai-claude-code-${FAKE_KIT_VERSION}.tgz`);
}

/** A pretend Anthropic endpoint for PRETEND_HOST on 127.0.0.1 that answers 200 and records each request's x-api-key. */
export async function startPretendAnthropic(): Promise<{ port: number; caFile: string; seen: { path: string; key: string | undefined }[]; close: () => Promise<void> }> {
  const seen: { path: string; key: string | undefined }[] = [];
  const { port, caFile, close } = await startPretendHttps((req, res) => {
    const key = req.headers['x-api-key'];
    seen.push({ path: req.url ?? '', key: typeof key === 'string' ? key : undefined });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"pretend":"anthropic"}');
  });
  return { port, caFile, seen, close };
}
