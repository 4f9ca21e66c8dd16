/**
 * Serves the built renderer from `app://airlock/` instead of file://.
 *
 * file:// pages share one opaque origin with every other local file, get extra privileges, and
 * make "is this our page?" a path comparison. A privileged standard scheme gives the renderer a
 * real origin of its own, so CSP 'self', the navigation guard and the IPC sender check all mean
 * "our bundle and nothing else", and the grantFileProtocolExtraPrivileges fuse can stay off.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Protocol } from 'electron';

export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://airlock`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** Must run before the app's `ready` event (Electron only accepts it then). */
export function registerAppSchemeAsPrivileged(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  ]);
}

/** Registers the handler on the default session; call once the app is ready. */
export function serveAppProtocol(protocol: Pick<Protocol, 'handle'>, rendererDir: string, contentSecurityPolicy: string): void {
  protocol.handle(APP_SCHEME, (request) => respondWithAppFile(request.url, rendererDir, contentSecurityPolicy));
}

/**
 * The file under `rendererDir` that `requestUrl` names, or null when the URL is for another host,
 * is malformed, or escapes the directory (`..`, encoded separators, absolute paths).
 */
export function resolveAppFile(requestUrl: string, rendererDir: string): string | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (`${url.protocol}//${url.host}` !== APP_ORIGIN) return null;
  let relative: string;
  try {
    relative = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (relative.includes('\0') || relative.includes('\\')) return null;
  if (relative === '/' || relative === '') relative = '/index.html';
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, `.${relative}`);
  const fromRoot = path.relative(root, file);
  if (fromRoot === '' || fromRoot.startsWith('..') || path.isAbsolute(fromRoot)) return null;
  return file;
}

export async function respondWithAppFile(requestUrl: string, rendererDir: string, contentSecurityPolicy: string): Promise<Response> {
  const securityHeaders = { 'Content-Security-Policy': contentSecurityPolicy, 'X-Content-Type-Options': 'nosniff' };
  const file = resolveAppFile(requestUrl, rendererDir);
  if (file === null) return new Response('Not found', { status: 404, headers: securityHeaders });
  try {
    const body = await readFile(file);
    const contentType = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    return new Response(new Uint8Array(body), { status: 200, headers: { ...securityHeaders, 'Content-Type': contentType } });
  } catch {
    return new Response('Not found', { status: 404, headers: securityHeaders });
  }
}
