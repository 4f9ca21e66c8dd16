/**
 * A forwarder's collector URL, checked before it is stored and before every connection:
 * `https://…` for otlp-http and webhook, `tls://host[:port]` for syslog-tls. Plain http:// and
 * credentials in the URL are refused (the secret belongs in the keychain).
 */
import { AirlockError } from '../errors.js';
import { SYSLOG_DEFAULT_PORT } from './syslog.js';
import type { ForwarderKind } from './types.js';

export interface CollectorUrl {
  url: URL;
  /** The name or address to connect to (an IPv6 literal without its brackets). */
  host: string;
  port: number;
}

/** The URL as it may be shown: never its userinfo. */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' && url.protocol === 'tls:' ? '' : url.pathname}`;
}

function refuse(message: string, hint: string): never {
  throw new AirlockError('bad_argument', message, hint);
}

export function checkForwarderUrl(kind: ForwarderKind, text: string): CollectorUrl {
  // The URL parser drops tabs and line breaks silently: what is shown would not be what is used.
  // eslint-disable-next-line no-control-regex -- the controls are what is refused
  if (/[\u0000-\u0020\u007f]/.test(text)) refuse('the forwarder URL holds a space or a control character', 'give the URL without spaces, e.g. https://collector.example:4318/v1/logs');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse(`the forwarder URL ${JSON.stringify(text.slice(0, 200))} is not a URL`, kind === 'syslog-tls' ? 'give it as tls://host:6514' : 'give it as https://host[:port]/path');
  }
  if (url.username !== '' || url.password !== '') {
    refuse(`the forwarder URL ${shown(url)} holds a user name or password`, 'remove user:password@ from the URL; give the secret to `airlock audit forward add` instead (it is kept in the keychain and sent as the auth header)');
  }
  if (kind === 'syslog-tls') {
    if (url.protocol !== 'tls:') refuse(`a syslog-tls forwarder's URL must be tls://host:port, not ${shown(url)}`, `syslog is sent over TLS only (RFC 5425): use tls://${url.hostname || 'host'}:${SYSLOG_DEFAULT_PORT}`);
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') refuse(`a syslog-tls URL has no path or query: ${shown(url)}`, `use tls://${url.hostname}:${url.port || SYSLOG_DEFAULT_PORT}`);
  } else if (url.protocol === 'http:') {
    refuse(`the forwarder URL ${shown(url)} is plain http://: Airlock sends the audit trail only over verified TLS`, `use https://${url.host}${url.pathname} (give the collector's CA with caFile if a private CA signed its certificate)`);
  } else if (url.protocol !== 'https:') {
    refuse(`a ${kind} forwarder's URL must be https://, not ${shown(url)}`, 'give it as https://host[:port]/path');
  }
  if (url.hash !== '') refuse(`the forwarder URL ${shown(url)} has a #fragment, which is never sent`, 'remove the #… part');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') refuse(`the forwarder URL ${shown(url)} names no host`, kind === 'syslog-tls' ? 'give it as tls://host:6514' : 'give it as https://host[:port]/path');
  const port = url.port !== '' ? Number(url.port) : kind === 'syslog-tls' ? SYSLOG_DEFAULT_PORT : 443;
  return { url, host, port };
}
