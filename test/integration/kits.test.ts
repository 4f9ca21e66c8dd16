// A kit end to end, without the npm registry: the stand-in claude-code package (a tarball made
// with `npm pack`) is built into a kit image with `airlock image build --kit … --package`, then run
// with `airlock run claude-code --endpoint … -- <args>` against a pretend Anthropic endpoint.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { runCli, tempDir } from '../helpers/env.js';
import { FAKE_KIT_IMAGE, FAKE_KIT_VERSION, packFakeKit, PRETEND_HOST, startPretendAnthropic } from '../helpers/kit-fake.js';
import { addPresetCredential } from '../helpers/kits.js';

const REAL_KEY = `sk-ant-REAL-${process.pid}-SENTINEL`;
const home = path.join(tempDir(), 'home');
const marker = `integration-${process.pid}`;
let pretend: Awaited<ReturnType<typeof startPretendAnthropic>>;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  pretend = await startPretendAnthropic();
  env = { AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${PRETEND_HOST}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: pretend.caFile, AIRLOCK_KIT_FAKE_MARKER: marker };
  const stored = await addPresetCredential({ name: 'anthropic', preset: 'anthropic', host: `${PRETEND_HOST}:${pretend.port}`, secret: REAL_KEY, env });
  expect(stored.code, stored.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await pretend?.close();
  new Keychain().delete('credential:anthropic');
  execFileSync('docker', ['rmi', '-f', FAKE_KIT_IMAGE], { stdio: 'ignore' });
});

describe('a kit from a package tarball', () => {
  it('image build --kit --version --package makes the image, records the version for run, and doctor lists it', async () => {
    const built = await runCli(['image', 'build', '--kit', 'claude-code', '--version', FAKE_KIT_VERSION, '--package', packFakeKit()], { env, timeoutMs: 180_000 });
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(new RegExp(`built ${FAKE_KIT_IMAGE.replace(/[.]/g, '\\.')}`));
    expect(built.stderr).toMatch(/download: .* fetched for linux\//);
    const labels = JSON.parse(execFileSync('docker', ['image', 'inspect', FAKE_KIT_IMAGE, '--format', '{{json .Config.Labels}}'], { encoding: 'utf8' })) as Record<string, string>;
    expect(labels).toMatchObject({ 'airlock.kit': 'claude-code', 'airlock.kit-version': FAKE_KIT_VERSION });
    expect(JSON.parse(fs.readFileSync(path.join(home, 'kits.json'), 'utf8'))).toEqual({ v: 1, versions: { 'claude-code': FAKE_KIT_VERSION } });
    const doctor = JSON.parse((await runCli(['doctor', '--json'], { env })).stdout) as { images: { ref: string; present: boolean; kit?: string }[] };
    expect(doctor.images).toContainEqual(expect.objectContaining({ ref: FAKE_KIT_IMAGE, present: true, kit: 'claude-code' }));
    expect(doctor.images).toContainEqual(expect.objectContaining({ ref: 'airlock/kit-codex:0.171.0', kit: 'codex' }));
    // The package's install script ran in the image build, as root without a network; never here.
    const installed = execFileSync('docker', ['run', '--rm', '--network', 'none', FAKE_KIT_IMAGE, 'cat', '/opt/airlock/kits/claude-code/node_modules/@anthropic-ai/claude-code/installed.json'], { encoding: 'utf8' });
    expect(JSON.parse(installed)).toEqual({ uid: 0, network: expect.stringMatching(/^unreachable/) });
    expect(fs.existsSync(path.join(process.env.TMPDIR ?? '/tmp', `airlock-kit-fake-install-ran-${marker}`))).toBe(false);
  }, 200_000);

  it('run <kit> --endpoint … -- <args>: the tool gets the arguments and the endpoint, and the endpoint gets the real key', async () => {
    const out = tempDir();
    const run = await runCli(['run', 'claude-code', '--endpoint', `https://${PRETEND_HOST}:${pretend.port}`, '--output', out, '--', '-p', 'write hello', 'two words'], { env, timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`network allowlist \\[local ${PRETEND_HOST.replace(/[.]/g, '\\.')}:${pretend.port}\\]`));
    const result = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')) as { args: string[]; baseUrl: string; endpoint: { status?: number; body?: string } };
    expect(result.args).toEqual(['-p', 'write hello', 'two words']);
    expect(result.baseUrl).toBe(`https://${PRETEND_HOST}:${pretend.port}`);
    expect(result.endpoint).toEqual({ status: 200, body: '{"pretend":"anthropic"}' });
    expect(pretend.seen).toEqual([{ path: '/v1/messages', key: REAL_KEY }]);
    expect(run.stdout).toMatch(new RegExp(`lent anthropic for ${PRETEND_HOST.replace(/[.]/g, '\\.')}:${pretend.port} until`));
    expect(run.stdout).toMatch(/⚷ anthropic used: POST api\.anthropic\.test\/v1\/messages → 200/);
  }, 150_000);
});
