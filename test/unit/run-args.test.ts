import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunFlags } from '../../main/cli/run-args.js';

describe('airlock run flags, parsed at the CLI\'s edge', () => {
  it('turns text into the typed request (ms, bytes, a parsed network, absolute paths)', () => {
    expect(parseRunFlags({
      net: 'allow:api.vendor.test, *.cdn.test', cred: ['vendor-api:1m', 'files-api'], input: ['./data', './x:/workspace/in/x'], output: 'out',
      timeout: '1m30s', cpus: '0.5', memory: '256m', env: ['A=1', 'B=x=y'],
    }, '/home/me')).toEqual({
      network: { mode: 'allowlist', allow: ['api.vendor.test', '*.cdn.test'] },
      creds: [{ name: 'vendor-api', ttlMs: 60_000 }, { name: 'files-api' }],
      inputs: [{ hostPath: path.resolve('/home/me/data') }, { hostPath: path.resolve('/home/me/x'), containerPath: '/workspace/in/x' }],
      outputDir: path.resolve('/home/me/out'), timeoutMs: 90_000, cpus: 0.5, memoryBytes: 256 * 1024 ** 2,
      env: [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y' }],
    });
    expect(parseRunFlags({ net: 'none', learn: true }, '/')).toEqual({ network: { mode: 'open' } });
    // Each --budget adds a kind; a later one of the same kind wins.
    expect(parseRunFlags({ budget: ['2usd', '100ktokens', '50requests', '$3'] }, '/')).toEqual({ budget: { usd: 3, tokens: 100_000, requests: 50 } });
  });

  it.each([
    [{ net: 'everything' }, /--net: 'everything' is not none, open or allow:/],
    [{ net: 'allow:' }, /--net: allow: needs at least one host/],
    [{ cred: ['Vendor API'] }, /--cred: 'Vendor API' is not name\[:ttl\]/],
    [{ cred: ['vendor-api:soon'] }, /--cred: 'soon' in 'vendor-api:soon' is not a duration/],
    [{ memory: 'lots' }, /--memory: 'lots' is not a size/],
    [{ env: ['NOEQUALS'] }, /--env: 'NOEQUALS' is not K=V/],
    [{ timeout: 'later' }, /--timeout: 'later' is not a duration/],
    [{ cpus: 'many' }, /--cpus: 'many' is not a positive number/],
    [{ cpus: '-1' }, /--cpus: '-1' is not a positive number/],
    [{ budget: ['lots'] }, /--budget: 'lots' is not a budget/],
  ])('refuses %o, naming the flag', (flags, message) => {
    expect(() => parseRunFlags(flags, '/')).toThrow(message);
  });
});
