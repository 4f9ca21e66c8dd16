import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { HostAddresses, refusedAddressReason } from '../../main/core/gateway/addresses.js';
import { FakeClock } from '../helpers/fake-clock.js';

// Each range with what ipaddr.js's range() calls it, and whether the gateway may dial it in open
// mode: only genuinely global unicast may be.
const TABLE: [string, string, boolean][] = [
  // IPv4
  ['8.8.8.8', 'unicast', true],
  ['34.120.0.10', 'unicast', true],
  ['0.0.0.0', 'unspecified', false],
  ['0.1.2.3', 'unspecified', false],
  ['10.1.2.3', 'private', false],
  ['100.64.0.1', 'carrierGradeNat', false],
  ['127.0.0.1', 'loopback', false],
  ['127.255.255.254', 'loopback', false],
  ['169.254.169.254', 'linkLocal', false],
  ['172.16.0.1', 'private', false],
  ['192.0.0.8', 'reserved', false], // IETF protocol assignments
  ['192.0.2.1', 'reserved', false], // TEST-NET-1 (documentation)
  ['192.31.196.1', 'as112', false],
  ['192.52.193.1', 'amt', false],
  ['192.88.99.1', 'reserved', false], // 6to4 relay anycast
  ['192.168.1.1', 'private', false],
  ['192.175.48.1', 'as112', false],
  ['198.18.0.1', 'reserved', false], // benchmarking
  ['198.19.255.255', 'reserved', false],
  ['198.51.100.1', 'reserved', false], // TEST-NET-2
  ['203.0.113.1', 'reserved', false], // TEST-NET-3
  ['224.0.0.1', 'multicast', false],
  ['240.0.0.1', 'reserved', false],
  ['255.255.255.255', 'broadcast', false],
  // IPv6
  ['2600:1f18::1', 'unicast', true],
  ['2a00:1450:4001::200e', 'unicast', true],
  ['::', 'unspecified', false],
  ['::1', 'loopback', false],
  ['::ffff:8.8.8.8', 'ipv4Mapped', false],
  ['::808:808', 'unicast', false], // IPv4-compatible (::8.8.8.8): ipaddr.js says unicast, Airlock refuses
  ['::8.8.8.8', 'ipv4Mapped', false], // ipaddr.js reads the dotted spelling as mapped: refused either way
  ['::ffff:0:8.8.8.8', 'rfc6145', false],
  ['64:ff9b::808:808', 'rfc6052', false],
  ['64:ff9b:1::1', 'rfc6052', false],
  ['100::1', 'discard', false],
  ['2001::1', 'teredo', false],
  ['2001:2::1', 'benchmarking', false],
  ['2001:3::1', 'amt', false],
  ['2001:4:112::1', 'as112v6', false],
  ['2001:10::1', 'deprecatedOrchid', false],
  ['2001:20::1', 'orchid2', false],
  ['2001:30::1', 'droneRemoteIdProtocolEntityTags', false],
  ['2001:db8::1', 'reserved', false], // documentation
  ['2002:808:808::1', '6to4', false],
  ['2620:4f:8000::1', 'as112v6', false],
  ['3fff::1', 'reserved', false], // documentation (RFC 9637)
  ['4000::1', 'unicast', false], // outside 2000::/3: ipaddr.js says unicast, Airlock refuses
  ['5f00::1', 'segmentRouting', false],
  ['fc00::1', 'uniqueLocal', false],
  ['fd12:3456::1', 'uniqueLocal', false],
  ['fe80::1', 'linkLocal', false],
  ['fec0::1', 'deprecatedSiteLocal', false],
  ['ff02::1', 'multicast', false],
];

describe('which addresses open mode may dial', () => {
  it.each(TABLE)('%s (ipaddr.js: %s) public: %s', (address, range, dialable) => {
    expect(ipaddr.parse(address).range()).toBe(range);
    expect(refusedAddressReason(address) === undefined).toBe(dialable);
  });

  it('names what the embedded IPv4 address is', () => {
    expect(refusedAddressReason('::ffff:127.0.0.1')).toBe('an IPv4-mapped form of 127.0.0.1 (a loopback address)');
    expect(refusedAddressReason('::7f00:1')).toBe('an IPv4-compatible form of 127.0.0.1');
    expect(refusedAddressReason('not-an-ip')).toBe('not an IP address');
  });

  it('this machine\'s own addresses: compared in one spelling, read again after the TTL', () => {
    const clock = new FakeClock();
    const list = ['192.0.2.7', 'fe80::1%eth0', '2600:1F18:0:0::9'];
    let reads = 0;
    const own = new HostAddresses(clock, () => {
      reads += 1;
      return list;
    }, 5_000);
    expect(own.has('2600:1f18::9')).toBe(true);
    expect(own.has('::ffff:192.0.2.7')).toBe(true);
    expect(own.has('fe80::1')).toBe(true);
    expect(own.has('34.120.0.10')).toBe(false);
    list.push('34.120.0.10');
    expect(own.has('34.120.0.10')).toBe(false); // cached
    clock.advance(5_000);
    expect(own.has('34.120.0.10')).toBe(true);
    expect(reads).toBe(2);
  });
});
