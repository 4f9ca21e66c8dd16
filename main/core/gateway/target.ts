import { normaliseHost } from '../host-pattern.js';

export { normaliseHost } from '../host-pattern.js';

/** Where a request wants to go, as the gateway matches it: a normalised name or address, and a port. */
export interface Target {
  /** Lower-case name without a trailing dot, or a canonical IP address (IPv6 without brackets). */
  host: string;
  port: number;
  kind: 'name' | 'ipv4' | 'ipv6';
}

/** `host:port` of a CONNECT request (the port is required there). */
export function parseAuthority(authority: string): Target | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  const host = normaliseHost(match[1]!);
  return host && port > 0 && port < 65536 ? { ...host, port } : undefined;
}

/** The target of an absolute-form proxy request (`GET http://host:port/path`). */
export function parseAbsoluteUrl(url: string): { target: Target; path: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:') return undefined;
  const host = normaliseHost(parsed.hostname);
  if (!host) return undefined;
  return { target: { ...host, port: parsed.port ? Number(parsed.port) : 80 }, path: `${parsed.pathname}${parsed.search}` };
}

/** The host as written in a URL or a Host header: an IPv6 address in brackets. */
export function formatHost(target: Pick<Target, 'host' | 'kind'>): string {
  return target.kind === 'ipv6' ? `[${target.host}]` : target.host;
}

export function formatTarget(target: Pick<Target, 'host' | 'port' | 'kind'>): string {
  return `${formatHost(target)}:${target.port}`;
}
