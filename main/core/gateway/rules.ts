import ipaddr from 'ipaddr.js';
import { normaliseHost, type Target } from './target.js';

/** One allowlist entry: `api.vendor.test`, `*.erp.test` (subdomains only), either with `:port`. */
export interface HostRule {
  text: string;
  host: string;
  wildcard: boolean;
  /** Undefined: the web's ports, 80 and 443. */
  port: number | undefined;
}

export function parseHostRule(text: string): HostRule | undefined {
  const match = /^(\*\.)?([^:*]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!match) return undefined;
  const host = normaliseHost(match[2]!);
  if (!host) return undefined;
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { text: text.trim(), host: host.host, wildcard: match[1] !== undefined, port };
}

export function ruleMatches(rule: HostRule, target: Target): boolean {
  const portOk = rule.port === undefined ? target.port === 80 || target.port === 443 : target.port === rule.port;
  if (!portOk) return false;
  if (rule.wildcard) return target.kind === 'name' && target.host.endsWith(`.${rule.host}`);
  return target.host === rule.host;
}

/** A `local` rule: exactly one host:port that may resolve to a loopback or private address. */
export interface LocalRule {
  text: string;
  host: string;
  port: number;
}

export function parseLocalRule(text: string): LocalRule | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  const host = match ? normaliseHost(match[1]!) : undefined;
  const port = match ? Number(match[2]) : 0;
  return host && port > 0 && port < 65536 ? { text: text.trim(), host: host.host, port } : undefined;
}

/**
 * Why an address must not be dialled, or undefined for a public unicast address. Every special
 * range is refused: loopback, private, link-local (all of 169.254/16, the cloud metadata address
 * among them), CGNAT, multicast, broadcast, unspecified, reserved and documentation ranges, IPv6
 * ULA and link-local, and IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4, Teredo).
 */
export function refusedAddressReason(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return 'not an IP address';
  }
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    const inner = (parsed as ipaddr.IPv6).toIPv4Address();
    const innerReason = refusedAddressReason(inner.toString());
    return innerReason ? `an IPv4-mapped form of ${inner.toString()} (${innerReason})` : `an IPv4-mapped address`;
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : RANGE_NAMES[range] ?? `a special-purpose address (${range})`;
}

const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private-network address',
  linkLocal: 'a link-local address (this includes the cloud metadata service)',
  carrierGradeNat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
  unspecified: 'the unspecified address',
  uniqueLocal: 'an IPv6 unique-local address',
  reserved: 'a reserved address',
  rfc6052: 'an IPv6 address embedding an IPv4 one (NAT64)',
  '6to4': 'an IPv6 address embedding an IPv4 one (6to4)',
  teredo: 'an IPv6 address embedding an IPv4 one (Teredo)',
  ipv4Mapped: 'an IPv4-mapped address',
};
