import { describe, expect, it } from 'vitest';
import type { NetworkSpec } from '../../main/core/tasks/network-spec.js';
import { narrowNetwork } from '../../main/core/tasks/network-intersection.js';

type Networked = Extract<NetworkSpec, { mode: 'allowlist' | 'open' }>;

function net(mode: 'allowlist' | 'open', allow: string[] = [], extra: Partial<Networked> = {}): Networked {
  return { mode, allow, local: [], onUnknownHost: 'deny', askTimeoutMs: 60_000, rate: {}, source: 'manifest', widened: false, ...extra };
}

describe('a child network within its parent\'s', () => {
  // [parent allow, child allow, the child gets]
  const rules: [string[], string[], string[]][] = [
    [['api.vendor.test'], ['api.vendor.test'], ['api.vendor.test']],
    [['api.vendor.test'], ['other.test'], []],
    [['*.vendor.test'], ['api.vendor.test'], ['api.vendor.test']],
    [['*.vendor.test'], ['vendor.test'], []], // *.x is subdomains only
    [['api.vendor.test'], ['*.vendor.test'], ['api.vendor.test']], // narrowed to the parent's
    [['*.vendor.test'], ['*.eu.vendor.test'], ['*.eu.vendor.test']],
    [['*.eu.vendor.test'], ['*.vendor.test'], ['*.eu.vendor.test']],
    [['*.vendor.test'], ['*.vendor.test'], ['*.vendor.test']],
    [['*.vendor.test'], ['*.other.test'], []],
    [['api.vendor.test', 'files.vendor.test'], ['*.vendor.test'], ['api.vendor.test', 'files.vendor.test']],
    // ports: none = 80 and 443
    [['api.vendor.test'], ['api.vendor.test:443'], ['api.vendor.test:443']],
    [['api.vendor.test:443'], ['api.vendor.test'], ['api.vendor.test:443']],
    [['api.vendor.test'], ['api.vendor.test:8443'], []],
    [['api.vendor.test:8443'], ['api.vendor.test'], []],
    [['api.vendor.test:8443'], ['api.vendor.test:8443'], ['api.vendor.test:8443']],
    [['*.vendor.test:8443'], ['api.vendor.test:8443'], ['api.vendor.test:8443']],
    // spelled differently, the same host
    [['API.Vendor.test.'], ['api.vendor.test'], ['api.vendor.test']],
    // wildcards never match addresses
    [['*.0.0.10'], ['34.120.0.10'], []],
    [['34.120.0.10'], ['34.120.0.10'], ['34.120.0.10']],
  ];
  it.each(rules)('parent %j, child %j → %j', (parentAllow, childAllow, expected) => {
    expect(narrowNetwork(net('allowlist', parentAllow), net('allowlist', childAllow)).network).toMatchObject({ mode: 'allowlist', allow: expected });
  });

  it('says what was cut, rule by rule', () => {
    const { narrowed } = narrowNetwork(net('allowlist', ['api.vendor.test:443']), net('allowlist', ['api.vendor.test', 'other.test']));
    expect(narrowed).toEqual(['allow api.vendor.test narrowed to api.vendor.test:443 (the parent\'s rule)', 'allow other.test (not within the parent\'s network)']);
    expect(narrowNetwork(net('allowlist', ['a.test']), net('allowlist', ['a.test'])).narrowed).toEqual([]);
  });

  it('open under an allowlist parent becomes the parent\'s allowlist; under an open parent the child keeps its own', () => {
    expect(narrowNetwork(net('allowlist', ['api.vendor.test']), net('open')).network).toMatchObject({ mode: 'allowlist', allow: ['api.vendor.test'] });
    expect(narrowNetwork(net('open'), net('open')).network).toMatchObject({ mode: 'open' });
    expect(narrowNetwork(net('open'), net('allowlist', ['x.test'])).network).toMatchObject({ mode: 'allowlist', allow: ['x.test'] });
  });

  it('none on either side is none', () => {
    expect(narrowNetwork({ mode: 'none', source: 'manifest', widened: false }, net('open')).network.mode).toBe('none');
    expect(narrowNetwork(net('open'), { mode: 'none', source: 'manifest', widened: false }).network.mode).toBe('none');
  });

  it('keeps only the local rules the parent has too', () => {
    const parent = net('open', [], { local: ['127.0.0.1:8080', 'db.test:5432'] });
    const child = net('allowlist', [], { local: ['127.0.0.1:8080', '127.0.0.1:9000', 'DB.test:5432'] });
    expect(narrowNetwork(parent, child).network).toMatchObject({ local: ['127.0.0.1:8080', 'DB.test:5432'] });
    expect(narrowNetwork(net('allowlist', ['a.test']), net('open', [], { local: ['127.0.0.1:8080'] })).network).toMatchObject({ local: [] });
  });

  // [parent mode, parent asks, child mode, child asks, the child asks]
  const asks: ['allowlist' | 'open', boolean, 'allowlist' | 'open', boolean, 'ask' | 'deny'][] = [
    ['allowlist', false, 'allowlist', true, 'deny'],
    ['allowlist', true, 'allowlist', true, 'ask'],
    ['allowlist', true, 'allowlist', false, 'deny'],
    ['open', false, 'allowlist', true, 'ask'],
    ['allowlist', true, 'open', false, 'ask'],
    ['allowlist', false, 'open', true, 'deny'],
  ];
  it.each(asks)('parent %s (asks: %s), child %s (asks: %s) → %s', (parentMode, parentAsks, childMode, childAsks, expected) => {
    const parent = net(parentMode, ['a.test'], { onUnknownHost: parentAsks ? 'ask' : 'deny' });
    const child = net(childMode, ['a.test'], { onUnknownHost: childAsks ? 'ask' : 'deny' });
    expect(narrowNetwork(parent, child).network).toMatchObject({ onUnknownHost: expected });
  });

  it('takes the lower of each rate limit', () => {
    const parent = net('open', [], { rate: { requestsPerMinute: 60 } });
    const child = net('open', [], { rate: { requestsPerMinute: 600, bytes: 1024 } });
    expect(narrowNetwork(parent, child).network).toMatchObject({ rate: { requestsPerMinute: 60, bytes: 1024 } });
    expect(narrowNetwork(net('open', [], { rate: { bytes: 10 } }), net('open')).network).toMatchObject({ rate: { bytes: 10 } });
  });
});
