/**
 * Limits applied to every web contents and session the app creates: the renderer may show only
 * our own pages, open nothing, and ask for no permission. Kept apart from window creation so
 * main/index.ts can apply them to *every* web contents (`web-contents-created`), not just ours.
 */
import { shell, type Session, type WebContents } from 'electron';

/** The production policy; renderer/index.html carries the same one in its meta tag (tested). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // blob: the task's screenshots (PNG bytes from screen.shot, shown through revocable blob URLs)
  "img-src 'self' data: blob:",
  "connect-src 'none'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The dev-server policy (`electron-vite dev` only): Vite injects inline scripts and styles for hot
 * reload and talks to its server over a websocket. Still no 'unsafe-eval'.
 */
export const DEV_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws://localhost:* ws://127.0.0.1:*",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Labels that only exist on private networks or are reserved, so never a public site. */
const NON_PUBLIC_SUFFIXES = ['localhost', 'local', 'localdomain', 'internal', 'intranet', 'lan', 'home.arpa', 'test', 'example', 'invalid', 'onion'];
const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * True when `url` may be handed to the OS browser: https only, no credentials, and a public
 * hostname — not an IP literal (in any spelling the URL parser normalises, e.g. `2130706433`),
 * not localhost, not a reserved or private-network name. Everything else is refused.
 */
export function isSafeExternalUrl(url: string): boolean {
  if (url.length > 2048) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:') return false;
  if (parsed.username !== '' || parsed.password !== '') return false;
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
  if (host.startsWith('[')) return false; // IPv6 literal
  const labels = host.split('.');
  if (labels.length < 2 || !labels.every((label) => HOST_LABEL.test(label))) return false;
  if (/^[0-9]+$/.test(labels.at(-1)!)) return false; // IPv4 literal, or a numeric "TLD"
  return !NON_PUBLIC_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`));
}

/** Same scheme and host:port. Compared by hand: Node's URL reports origin "null" for custom schemes. */
export function isSameOrigin(url: string, origin: string): boolean {
  try {
    const a = new URL(url);
    const b = new URL(origin);
    return a.protocol === b.protocol && a.host === b.host && a.host !== '';
  } catch {
    return false;
  }
}

/**
 * Per-web-contents limits: navigation only within the app's own origin, no new windows (safe
 * https links go to the OS browser instead), no <webview>.
 */
export function applyWebContentsLimits(contents: WebContents, isAppUrl: (url: string) => boolean): void {
  const guardNavigation = (event: { url: string; preventDefault(): void }): void => {
    if (!isAppUrl(event.url)) event.preventDefault();
  };
  contents.on('will-navigate', guardNavigation);
  contents.on('will-frame-navigate', guardNavigation);
  contents.on('will-redirect', guardNavigation);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) void shell.openExternal(url).catch(() => undefined);
    return { action: 'deny' };
  });
}

const limitedSessions = new WeakSet<Session>();

/**
 * Per-session limits, applied once per session: every permission request and check is refused,
 * downloads are cancelled, and every response carries the CSP header — which, unlike the meta
 * tag, also enforces frame-ancestors and covers responses that have no meta tag.
 */
export function applySessionLimits(session: Session, contentSecurityPolicy: string): void {
  if (limitedSessions.has(session)) return;
  limitedSessions.add(session);
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.on('will-download', (event) => event.preventDefault());
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders, contentSecurityPolicy) });
  });
}

/** Response headers with our CSP in place of any the response brought (case-insensitively). */
export function withContentSecurityPolicy(
  headers: Record<string, string | string[]> | undefined,
  contentSecurityPolicy: string,
): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'content-security-policy') continue;
    result[name] = Array.isArray(value) ? value : [value];
  }
  result['Content-Security-Policy'] = [contentSecurityPolicy];
  return result;
}
