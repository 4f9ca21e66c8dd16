import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { REPO, runCli, tempDir, TEST_ENGINE_ENV, type CliResult } from '../helpers/env.js';
import { startRemoteEngine, type RemoteEngine } from '../helpers/remote-engine.js';
import { makeTestCa } from '../helpers/test-ca.js';

// A second Docker engine, reachable only over TCP with TLS client certificates, in a network
// namespace of its own (test/helpers/remote-engine.ts). Airlock reaches it as a user's remote engine:
// DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. The gateway, the keychain and the audit
// trail stay on this machine; only containers and volumes are on the remote engine. The engine
// cannot see this machine's /tmp, /work or /home: inputs and outputs must be streamed.
let remote: RemoteEngine;

beforeAll(async () => {
  const started = Date.now();
  remote = await startRemoteEngine({ images: ['airlock/agent-base:1', 'airlock/agent-desktop:1'] });
  console.log(`remote engine ${remote.host} up in ${((Date.now() - started) / 1000).toFixed(1)} s (images loaded in ${remote.loadSeconds.toFixed(1)} s)`);
}, 600_000);

afterAll(async () => {
  await remote?.stop();
}, 120_000);

/** A node script (a demo) with the remote engine's variables, as a user with DOCKER_HOST set runs it. */
function runScript(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: REPO, env: { ...process.env, NO_COLOR: '1', ...TEST_ENGINE_ENV, ...remote.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Ids of the Airlock containers created on the remote engine since `since` (seconds). */
function remoteContainersCreated(since: number): string[] {
  const until = Math.ceil(Date.now() / 1000) + 1;
  return remote.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=container', '--filter', 'event=create',
    '--filter', 'label=airlock.task', '--format', '{{.ID}}']).split('\n').filter(Boolean);
}

/** What Airlock left on the remote engine (nothing, after a task: it reaps there too). */
function remoteLeftovers(): string[] {
  const filter = ['--filter', 'label=airlock.task'];
  return [
    ...remote.docker(['ps', '-a', ...filter, '--format', 'container {{.Names}}']).split('\n'),
    ...remote.docker(['volume', 'ls', ...filter, '--format', 'volume {{.Name}}']).split('\n'),
    ...remote.docker(['network', 'ls', ...filter, '--format', 'network {{.Name}}']).split('\n'),
  ].filter(Boolean);
}

/** Files under `dirs` whose bytes contain `needle` (grep, as root: the engine's own files). */
function filesContaining(dirs: string[], needle: string): string[] {
  try {
    return execFileSync('grep', ['-rlF', '--', needle, ...dirs], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch (error) {
    if ((error as { status?: number }).status === 1) return []; // none matched
    throw error;
  }
}

describe('a remote engine over TLS (DOCKER_HOST=tcp://…:2376, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH)', () => {
  it('runs the demo story: inputs streamed in, the lent key swapped at the local gateway, outputs streamed out, nothing left remotely', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const out = path.join(dir, 'report');
    const home = path.join(dir, 'home');
    const since = Math.floor(Date.now() / 1000);
    const result = await runScript(path.join(REPO, 'scripts', 'demo.mjs'), ['--output', out], { AIRLOCK_HOME: home });
    expect(result.stderr).not.toMatch(/^demo:/m);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const stdout = result.stdout;
    const container = /started \(container ([0-9a-f]{12})\)/.exec(stdout)?.[1];
    // It ran there, not on this machine's engine: the remote engine created the task's containers.
    const created = remoteContainersCreated(since);
    expect(created.some((id) => id.startsWith(container!))).toBe(true);
    expect(created).toHaveLength(2); // the sidecar and the agent
    for (const id of ['SUP-001', 'SUP-002', 'SUP-003', 'SUP-005']) {
      expect(stdout).toContain(`⚷ demo-vendor-api used: GET api.vendor.test/v1/suppliers/${id}/bank-account → 200`);
    }
    expect(stdout).toMatch(/✗ refused CONNECT files\.sharing\.test:443/);
    expect(stdout).toMatch(/⚠ credential misuse refused: a credential placeholder sent over plain HTTP to collector\.test:80/);
    expect(stdout.match(/with the real key → 200/g)).toHaveLength(4);
    // The sidecar may remove itself (AutoRemove) before Airlock does: 1 or 2 counted; none left below.
    expect(stdout).toMatch(/sandbox destroyed \([12] containers?, 2 volumes\)/);
    // The inputs came from a folder the remote engine cannot see; the outputs reached this machine.
    expect(fs.readFileSync(path.join(out, 'report.md'), 'utf8')).toContain('## Bank accounts confirmed with the vendor API');
    // The audit trail is local and verifies.
    const task = /npx airlock log (t_[0-9a-z]{26})/.exec(stdout)![1]!;
    expect(fs.existsSync(path.join(home, 'tasks', task))).toBe(true);
    const verify = await runCli(['audit', 'verify'], { env: { AIRLOCK_HOME: home, ...TEST_ENGINE_ENV, ...remote.env } });
    expect(verify.code, verify.stderr).toBe(0);
    expect(remoteLeftovers()).toEqual([]);
    const secret = new Keychain().get('credential:demo-vendor-api')!;
    expect(filesContaining([remote.dataRoot], secret)).toEqual([]);
  });
});
