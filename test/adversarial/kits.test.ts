/**
 * Kits attacked through the CLI, as a user's mistake or a hostile script would:
 *  - arguments after `--` go to the tool, never to Airlock: flags that would widen the network,
 *    lend another credential or move the endpoint are just the tool's arguments;
 *  - with `--endpoint`, the kit's network is exactly one rule (that host and port): the
 *    provider's own host and any other are refused and logged, the endpoint sees the real key and
 *    never a placeholder, and the task still ends normally;
 *  - an endpoint that is not https (or http to anything but a loopback address), carries a user
 *    name or password, a query, or names a host the credential does not cover, is refused before
 *    any sandbox exists; so is an endpoint for an agent that is not a kit, or with --net;
 *  - arguments past their bounds (count, size) are refused.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { runCli, tempDir } from '../helpers/env.js';
import { FAKE_KIT_IMAGE, FAKE_KIT_VERSION, packFakeKit, PRETEND_HOST, startPretendAnthropic } from '../helpers/kit-fake.js';
import { addPresetCredential } from '../helpers/kits.js';

const REAL_KEY = `sk-ant-ADV-${process.pid}-SENTINEL`;
const home = path.join(tempDir(), 'home');
let pretend: Awaited<ReturnType<typeof startPretendAnthropic>>;
let env: NodeJS.ProcessEnv;
let endpoint: string;

beforeAll(async () => {
  pretend = await startPretendAnthropic();
  endpoint = `https://${PRETEND_HOST}:${pretend.port}`;
  env = { AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${PRETEND_HOST}=127.0.0.1,evil.test=127.0.0.1`, AIRLOCK_UPSTREAM_CA: pretend.caFile };
  const stored = await addPresetCredential({ name: 'anthropic', preset: 'anthropic', host: `${PRETEND_HOST}:${pretend.port}`, secret: REAL_KEY, env });
  expect(stored.code, stored.stderr).toBe(0);
  const built = await runCli(['image', 'build', '--kit', 'claude-code', '--version', FAKE_KIT_VERSION, '--package', packFakeKit()], { env, timeoutMs: 180_000 });
  expect(built.code, built.stderr).toBe(0);
}, 200_000);

afterAll(async () => {
  await pretend?.close();
  new Keychain().delete('credential:anthropic');
  execFileSync('docker', ['rmi', '-f', FAKE_KIT_IMAGE], { stdio: 'ignore' });
});

type Event = { kind: string; data: Record<string, unknown> };

describe('a hostile run of a kit', () => {
  it('flags after -- are the tool\'s; the network stays the endpoint\'s one rule; other hosts are refused and logged; only the real key reaches the endpoint', async () => {
    const out = tempDir();
    const smuggled = ['--net', 'open', '--cred', 'other', '--endpoint', 'https://evil.test', '--env', 'ANTHROPIC_BASE_URL=https://evil.test', '--detach', '$(id)'];
    const run = await runCli(['run', 'claude-code', '--endpoint', endpoint, '--output', out, '--json', '--', ...smuggled], { env, timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Event);
    const started = events.find((e) => e.kind === 'task.created' || e.data.networkPolicy !== undefined)!;
    expect(started.data.networkPolicy).toMatchObject({ mode: 'allowlist', allow: [], local: [`${PRETEND_HOST}:${pretend.port}`], onUnknownHost: 'deny', widened: false });
    const result = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')) as { args: string[]; baseUrl: string; provider: { error?: string; status?: number }; other: { error?: string; status?: number } };
    expect(result.args).toEqual(smuggled);
    expect(result.baseUrl).toBe(endpoint);
    // The provider's own host and another: refused by the gateway (the task's proxy), in the log.
    expect(result.provider.status).toBeUndefined();
    expect(result.other.status).toBeUndefined();
    const refused = events.filter((e) => e.kind === 'net.denied').map((e) => `${String(e.data.host)}:${String(e.data.port)}`);
    expect(refused.sort()).toEqual(['api.anthropic.com:443', 'exfil.test:443']);
    // The endpoint saw the real key, once, never a placeholder; the grant was for it alone.
    expect(pretend.seen).toEqual([{ path: '/v1/messages', key: REAL_KEY }]);
    const granted = events.find((e) => e.kind === 'cred.granted')!;
    expect(granted.data.hosts).toEqual([`${PRETEND_HOST}:${pretend.port}`]);
    expect(events.filter((e) => e.kind === 'task.exited').map((e) => e.data.exitCode)).toEqual([0]);
  }, 150_000);

  it('refuses endpoints that are not a plain https URL of a host the credential covers, before any sandbox exists', async () => {
    const cases: [string, RegExp][] = [
      ['http://api.anthropic.test', /http:\/\/ is only for a gateway on this machine/],
      ['http://localhost:8080', /http:\/\/ is only for a gateway on this machine/],
      ['ftp://api.anthropic.test', /must be an https:\/\/ URL/],
      ['file:///etc/passwd', /must be an https:\/\/ URL/],
      [`https://x:y@${PRETEND_HOST}:${pretend.port}`, /has a user name or password in it/],
      [`https://${PRETEND_HOST}:${pretend.port}@evil.test`, /has a user name or password in it/],
      [`${endpoint}/v1?key=1`, /has a query or fragment/],
      [`${endpoint}\n`, /spaces or control characters/],
      ['https://evil.test', /the credential 'anthropic' is not for evil\.test \(its hosts: api\.anthropic\.test:\d+\)[\s\S]*airlock cred add anthropic --preset anthropic --host evil\.test/],
      [`https://${PRETEND_HOST}`, /is not for api\.anthropic\.test \(its hosts/],
    ];
    for (const [url, message] of cases) {
      const refused = await runCli(['run', 'claude-code', '--endpoint', url, '--', '-p', 'x'], { env });
      expect(refused.code, url).toBe(125);
      expect(refused.stderr, url).toMatch(message);
    }
    const notKit = await runCli(['run', 'support', '--endpoint', endpoint], { env });
    expect(notKit.stderr).toMatch(/--endpoint: support is not a kit/);
    const withNet = await runCli(['run', 'claude-code', '--endpoint', endpoint, '--net', 'open'], { env });
    expect(withNet.stderr).toMatch(/--net cannot be given with it/);
    // Nothing was started for any of them.
    expect(execFileSync('docker', ['ps', '-aq', '--filter', `ancestor=${FAKE_KIT_IMAGE}`], { encoding: 'utf8' }).trim()).toBe('');
    expect(pretend.seen).toHaveLength(1); // the first test's one request
  }, 120_000);

  it('refuses arguments past their bounds', async () => {
    const many = await runCli(['run', 'claude-code', '--endpoint', endpoint, '--', ...Array.from({ length: 201 }, (_, i) => `a${i}`)], { env });
    expect(many.code).toBe(125);
    expect(many.stderr).toMatch(/args|arguments/);
    const long = await runCli(['run', 'claude-code', '--endpoint', endpoint, '--', 'x'.repeat(33 * 1024)], { env });
    expect(long.code).toBe(125);
    expect(long.stderr).toMatch(/32 KiB|32768/);
  }, 60_000);
});
