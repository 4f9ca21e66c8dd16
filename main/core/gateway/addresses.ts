// Which resolved addresses the gateway may dial: only genuinely global unicast, and never one of
// this machine's own interfaces (a service listening on all interfaces is the machine itself).
import os from 'node:os';
import ipaddr from 'ipaddr.js';
import type { Clock } from '../clock.js';

/** IPv6 global unicast: 2000::/3. Everything outside it is special (or unassigned) and refused. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];
/** ::/96, the deprecated IPv4-compatible form (`::a.b.c.d`), which ipaddr.js calls unicast. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number];

const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private-network address',
  linkLocal: 'a link-local address (this includes the cloud metadata service)',
  carrierGradeNat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
  unspecified: 'an unspecified address',
  uniqueLocal: 'an IPv6 unique-local address',
  deprecatedSiteLocal: 'an IPv6 site-local address',
  reserved: 'a reserved or documentation address',
  benchmarking: 'a benchmarking address',
  as112: 'an AS112 address',
  as112v6: 'an AS112 address',
  amt: 'an AMT relay address',
  discard: 'an IPv6 discard-only address',
  deprecatedOrchid: 'an ORCHID address',
  orchid2: 'an ORCHID address',
  droneRemoteIdProtocolEntityTags: 'a DRIP entity tag',
  segmentRouting: 'an SRv6 address',
  rfc6052: 'an IPv6 address embedding an IPv4 one (NAT64)',
  rfc6145: 'an IPv6 address embedding an IPv4 one (SIIT)',
  '6to4': 'an IPv6 address embedding an IPv4 one (6to4)',
  teredo: 'an IPv6 address embedding an IPv4 one (Teredo)',
  ipv4Mapped: 'an IPv4-mapped address',
};

/**
 * Why an address must not be dialled, or undefined for a genuinely public one. IPv4: only what
 * ipaddr.js calls unicast (loopback, private, link-local — the cloud metadata address among them —,
 * CGNAT, multicast, broadcast, 0/8, documentation, benchmarking, AS112, AMT and 240/4 are refused).
 * IPv6: only 2000::/3 minus its special ranges (documentation, 6to4, Teredo, benchmarking, ORCHID,
 * …); every form that embeds an IPv4 address (mapped, compatible, NAT64, SIIT) is refused.
 */
export function refusedAddressReason(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return 'not an IP address';
  }
  if (parsed.kind() === 'ipv4') {
    const range = parsed.range();
    return range === 'unicast' ? undefined : RANGE_NAMES[range] ?? `a special-purpose address (${range})`;
  }
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) {
    const inner = v6.toIPv4Address().toString();
    const innerReason = refusedAddressReason(inner);
    return `an IPv4-mapped form of ${inner}${innerReason ? ` (${innerReason})` : ''}`;
  }
  const range = v6.range();
  if (range !== 'unicast') return RANGE_NAMES[range] ?? `a special-purpose address (${range})`;
  if (v6.match(IPV4_COMPATIBLE)) return `an IPv4-compatible form of ${ipaddr.fromByteArray(v6.toByteArray().slice(12)).toString()}`;
  if (!v6.match(GLOBAL_UNICAST_V6)) return 'an IPv6 address outside global unicast (2000::/3)';
  return undefined;
}

/** The same address in one spelling, for comparing (IPv4-mapped IPv6 as its IPv4). */
export function canonicalAddress(address: string): string | undefined {
  try {
    const parsed = ipaddr.process(address.replace(/%.*$/, ''));
    return parsed.toNormalizedString();
  } catch {
    return undefined;
  }
}

/** The addresses of this machine's interfaces, as os.networkInterfaces() lists them. */
export function interfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

/**
 * This machine's own addresses, refused like loopback: a service bound to all interfaces answers on
 * each of them. Read again when older than `ttlMs` (interfaces come and go: Wi-Fi, VPN, docker).
 */
export class HostAddresses {
  readonly #clock: Clock;
  readonly #list: () => string[];
  readonly #ttlMs: number;
  #addresses = new Set<string>();
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(clock: Clock, list: () => string[] = interfaceAddresses, ttlMs = 5_000) {
    this.#clock = clock;
    this.#list = list;
    this.#ttlMs = ttlMs;
  }

  has(address: string): boolean {
    const now = this.#clock.now();
    if (now - this.#readAt >= this.#ttlMs) {
      this.#readAt = now;
      try {
        this.#addresses = new Set(this.#list().map(canonicalAddress).filter((a): a is string => a !== undefined));
      } catch {
        // Unreadable: keep the last list (the loopback and private checks still apply).
      }
    }
    const canonical = canonicalAddress(address);
    return canonical !== undefined && this.#addresses.has(canonical);
  }
}
