import { describe, expect, it } from 'vitest';
import { formatHostPattern, hostPatternCovers, hostPatternMatches, HTTPS_PORTS, normaliseHost, parseHostPattern, WEB_PORTS } from '../../main/core/host-pattern.js';

describe('HostPattern: parsed and normalised once', () => {
  it.each([
    ['api.vendor.test', 'api.vendor.test', false, undefined],
    ['API.Vendor.TEST', 'api.vendor.test', false, undefined],
    ['api.vendor.test.', 'api.vendor.test', false, undefined],
    [' API.vendor.test.:8443 ', 'api.vendor.test:8443', false, 8443],
    ['bücher.test', 'xn--bcher-kva.test', false, undefined],
    ['ÄPI.Bücher.test.', 'xn--pi-uia.xn--bcher-kva.test', false, undefined],
    ['*.Vendor.test', '*.vendor.test', true, undefined],
    ['*.bücher.test:8443', '*.xn--bcher-kva.test:8443', true, 8443],
    ['10.0.0.1:8080', '10.0.0.1:8080', false, 8080],
    ['0x7f.1', '127.0.0.1', false, undefined],
    ['2130706433:80', '127.0.0.1:80', false, 80],
    ['[::1]:8080', '[::1]:8080', false, 8080],
    ['::1', '[::1]', false, undefined],
    ['[2001:DB8:0:0::1]', '[2001:db8::1]', false, undefined],
    ['[::ffff:127.0.0.1]:443', '[::ffff:7f00:1]:443', false, 443],
  ])('%s → %s', (text, canonical, wildcard, port) => {
    const pattern = parseHostPattern(text);
    expect(pattern).toMatchObject({ text: canonical, wildcard, port });
    expect(parseHostPattern(pattern!.text)).toEqual(pattern); // the canonical text reads back the same
  });

  it.each(['', '*', '*.', '*.10.0.0.1', '*.[::1]', 'a..b', '.vendor.test', 'a b.test', 'a/b', 'user@host', 'host:0', 'host:65536', 'host:-1', 'a:b:c:d:e:f:g:h:i', 'http://x.test'])('refuses %j', (text) => {
    expect(parseHostPattern(text)).toBeUndefined();
  });

  it.each([
    // pattern, host, port, default ports, matches
    ['api.vendor.test', 'API.vendor.test.', 443, HTTPS_PORTS, true],
    ['API.Vendor.test', 'api.vendor.test', 443, HTTPS_PORTS, true],
    ['api.vendor.test', 'api.vendor.test', 80, HTTPS_PORTS, false],
    ['api.vendor.test', 'api.vendor.test', 80, WEB_PORTS, true],
    ['api.vendor.test', 'api.vendor.test', 8443, WEB_PORTS, false],
    ['api.vendor.test:8443', 'api.vendor.test', 8443, HTTPS_PORTS, true],
    ['api.vendor.test:8443', 'api.vendor.test', 443, HTTPS_PORTS, false],
    ['*.vendor.test', 'a.vendor.test', 443, HTTPS_PORTS, true],
    ['*.vendor.test', 'a.b.vendor.test', 443, HTTPS_PORTS, true],
    ['*.vendor.test', 'vendor.test', 443, HTTPS_PORTS, false],
    ['*.vendor.test', 'evilvendor.test', 443, HTTPS_PORTS, false],
    ['*.bücher.test', 'shop.xn--bcher-kva.test', 443, HTTPS_PORTS, true],
    ['xn--bcher-kva.test', 'bücher.test', 443, HTTPS_PORTS, true],
    ['127.0.0.1:8080', '0x7f.1', 8080, WEB_PORTS, true],
    ['[::1]:8080', '0:0:0:0:0:0:0:1', 8080, WEB_PORTS, true],
  ] as const)('%s matches %s:%i (defaults %j): %s', (pattern, host, port, defaults, expected) => {
    expect(hostPatternMatches(parseHostPattern(pattern)!, { ...normaliseHost(host)!, port }, defaults)).toBe(expected);
  });

  it.each([
    // outer (network rule), inner (credential host), covered
    ['*.vendor.test', 'api.vendor.test', true],
    ['*.vendor.test', '*.api.vendor.test', true],
    ['*.vendor.test', '*.vendor.test', true],
    ['api.vendor.test', '*.vendor.test', false],
    ['x.vendor.test', '*.vendor.test', false],
    ['API.vendor.test', 'api.vendor.test.', true],
    ['api.vendor.test', 'api.vendor.test:8443', false],
    ['api.vendor.test:8443', 'api.vendor.test:8443', true],
    ['api.vendor.test:8443', 'api.vendor.test', false],
  ])('network rule %s covers credential host %s: %s', (outer, inner, expected) => {
    expect(hostPatternCovers(parseHostPattern(outer)!, WEB_PORTS, parseHostPattern(inner)!, HTTPS_PORTS)).toBe(expected);
  });

  it('formats IPv6 in brackets and wildcards with their star', () => {
    expect(formatHostPattern({ host: '::1', kind: 'ipv6', port: 8080 })).toBe('[::1]:8080');
    expect(formatHostPattern({ host: 'vendor.test', kind: 'name', wildcard: true })).toBe('*.vendor.test');
  });
});
