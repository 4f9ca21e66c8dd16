/**
 * A local writer of AIRLOCK_HOME, or a careless user, against the forwarders' configuration
 * (issue 19's red team): CA files that would hang or flood the engine, names that would reach
 * other paths, URLs that would send elsewhere than they show.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkForwarder, forwardersFile } from '../../main/core/forward/config.js';
import { checkForwarderUrl } from '../../main/core/forward/forwarder-url.js';
import { readCaFile } from '../../main/core/forward/tls-options.js';
import { removeTempDirs, tempDir } from '../helpers/env.js';

afterEach(() => removeTempDirs());

describe('caFile', () => {
  it('a FIFO behind a symlink, /dev/zero, a directory, a huge file: refused at once in one line, never read unbounded', () => {
    const dir = tempDir('airlock-fwd-ca-');
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    fs.symlinkSync(fifo, path.join(dir, 'ca-link.pem'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.pem'));
    fs.writeFileSync(path.join(dir, 'huge.pem'), Buffer.alloc(2 * 1024 * 1024, 65));
    for (const file of [path.join(dir, 'ca-link.pem'), '/dev/zero', path.join(dir, 'zero.pem'), dir, path.join(dir, 'huge.pem')]) {
      const started = Date.now();
      expect(() => readCaFile(file), file).toThrow(/^caFile .*(not a regular file|larger than)/);
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });
});

describe('forwarders.json edited by hand', () => {
  it('a name with path characters (reaching the cursor path) or a plain-http URL: the file is refused by name, nothing runs', () => {
    const home = tempDir('airlock-fwd-home-');
    for (const name of ['../../etc/x', 'a/b', '.hidden', 'x\u0000y', 'UPPER']) {
      fs.writeFileSync(path.join(home, 'forwarders.json'), JSON.stringify({ v: 1, forwarders: [{ name, kind: 'webhook', url: 'https://collector.test/in', headEveryMs: 60_000, enabled: true }] }));
      expect(() => forwardersFile(home).read(), name).toThrow(/forwarders\.json \(the audit forwarders\) is damaged/);
    }
  });
});

describe('collector URLs', () => {
  it('what would send elsewhere than shown, or leak a secret in the URL, is refused', () => {
    for (const [kind, url] of [
      ['webhook', 'https://collector.test:443@evil.test/in'],
      ['webhook', 'https://collector.test\t.evil.test/in'],
      ['webhook', 'https://collector.test\n/in'],
      ['webhook', ' https://collector.test/in'],
      ['webhook', 'https://evil.test/in#@collector.test'],
      ['otlp-http', 'http://collector.test/v1/logs'],
      ['otlp-http', 'tls://collector.test:6514'],
      ['syslog-tls', 'https://collector.test'],
      ['syslog-tls', 'tls://u:p@collector.test:6514'],
      ['syslog-tls', 'tls://collector.test:6514/path'],
    ] as const) {
      expect(() => checkForwarder({ name: 'siem', kind, url }), url).toThrow();
    }
  });

  it('what is connected to is the URL\'s own host: backslashes, IDNA and mapped IPv6 resolve as the URL standard says', () => {
    expect(checkForwarderUrl('webhook', 'https://collector.test\\@evil.test/in').host).toBe('collector.test');
    expect(checkForwarderUrl('webhook', 'https://ＣＯＬＬＥＣＴＯＲ.test/in').host).toBe('collector.test');
    expect(checkForwarderUrl('syslog-tls', 'tls://[::ffff:127.0.0.1]:6514').host).toBe('::ffff:7f00:1');
  });
});
