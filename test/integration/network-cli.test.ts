import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAllowedHost } from '../../main/core/policy/manifest-edit.js';
import { approve, runCli, tempDir } from '../helpers/env.js';

// The CLI's own gateway resolves names with the machine's DNS, which tests must not use: these
// runs reach only a server on this machine through a `local` rule (an IP, so no lookup), and
// names that are refused before any lookup.
let server: http.Server;
let port: number;
beforeAll(async () => {
  server = http.createServer((req, res) => res.end(`local service saw ${req.url}\n`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => {
  server.close();
});

function manifest(dir: string, network: string): string {
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, `# my agent\nname: netcli\ncommand: ["sh", "-c", "curl -s http://127.0.0.1:${port}/hello; curl -s -o /dev/null -w '%{http_code}\\\\n' http://other.test/"]\n${network}\n`);
  approve(file, path.join(dir, 'home'));
  return file;
}

describe('airlock run with a network', () => {
  it('a local rule opens exactly the one host service; everything else is refused and logged', async () => {
    const dir = tempDir();
    const result = await runCli(['run', manifest(dir, `network: { mode: allowlist, allow: [api.vendor.test], local: ["127.0.0.1:${port}"] }`)], { env: { AIRLOCK_HOME: path.join(dir, 'home') } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/network allowlist \[api\.vendor\.test, local 127\.0\.0\.1:\d+\]/);
    expect(result.stdout).toMatch(/│ local service saw \/hello/);
    expect(result.stdout).toMatch(/→ GET 127\.0\.0\.1:\d+\/hello 200 .*\(local:127\.0\.0\.1:\d+\)/);
    expect(result.stdout).toMatch(/✗ refused GET other\.test:80: other\.test:80 is not in this task's allowlist \(rule allowlist\)/);
    expect(result.stdout).toMatch(/│ 403/);
    expect(result.stdout).toMatch(/sandbox destroyed \(2 containers, 1 volume\)/);
  });

  it('--net shows a widening in the log; --net none takes the network away', async () => {
    const dir = tempDir();
    const file = manifest(dir, 'network: { mode: none }');
    const widened = await runCli(['run', file, '--net', 'allow:api.vendor.test'], { env: { AIRLOCK_HOME: path.join(dir, 'home') } });
    expect(widened.stdout).toMatch(/network allowlist \[api\.vendor\.test\] \(widened by --net\)/);
    const narrowed = await runCli(['run', manifest(dir, `network: { mode: allowlist, local: ["127.0.0.1:${port}"], allow: [x.test] }`), '--net', 'none', '--json'], { env: { AIRLOCK_HOME: path.join(dir, 'home') } });
    const events = narrowed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].data.networkPolicy).toEqual({ mode: 'none', source: '--net', widened: false });
    expect(events.filter((e) => e.kind === 'net.request')).toEqual([]);
  });

  it('onUnknownHost: ask without a terminal denies at once and says why', async () => {
    const dir = tempDir();
    const started = Date.now();
    const result = await runCli(['run', manifest(dir, `network: { mode: allowlist, local: ["127.0.0.1:${port}"], onUnknownHost: ask }`)], { env: { AIRLOCK_HOME: path.join(dir, 'home') } });
    expect(result.stderr).toMatch(/a host outside the allowlist, and no terminal to ask: denied\n {2}other\.test {2}← other\.test:80/);
    expect(result.stdout).toMatch(/other\.test:80 denied/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('"always" adds the host to network.allow, keeping the manifest\'s comments', () => {
    const dir = tempDir();
    const file = manifest(dir, 'network:\n  mode: allowlist # reviewed\n  allow: [api.vendor.test]');
    addAllowedHost(file, 'files.vendor.test');
    addAllowedHost(file, 'files.vendor.test');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('# my agent');
    expect(text).toContain('# reviewed');
    expect(text).toMatch(/allow: \[ api\.vendor\.test, files\.vendor\.test \]/);
  });
});
