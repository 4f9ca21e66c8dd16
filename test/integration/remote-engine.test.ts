import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { stopEngine, testClient } from '../helpers/engine.js';
import { runInEngine } from '../helpers/engine-task.js';
import { approve, CLI, REPO, runCli, tempDir, TEST_ENGINE_ENV, waitFor } from '../helpers/env.js';
import { startRemoteEngine, type RemoteEngine } from '../helpers/remote-engine.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeTestCa } from '../helpers/test-ca.js';

// A second Docker engine in a network namespace of its own (test/helpers/remote-engine.ts),
// reachable from here only over its veth: over TCP with TLS client certificates, and over ssh to an
// sshd in the same namespace whose forced command is `docker system dial-stdio` (to that TLS
// endpoint). Airlock reaches it as a user's remote engine: DOCKER_HOST=tcp://… with
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, or DOCKER_HOST=ssh://…. The gateway, the keychain and the
// audit trail stay on this machine; only containers and volumes are on the remote engine. The
// engine cannot see this machine's /tmp, /work or /home: inputs and outputs must be streamed.
let remote: RemoteEngine;
let sshd: Sshd;

beforeAll(async () => {
  const started = Date.now();
  remote = await startRemoteEngine({ images: ['airlock/agent-base:1', 'airlock/agent-desktop:1'] });
  console.log(`remote engine ${remote.host} up in ${((Date.now() - started) / 1000).toFixed(1)} s (images loaded in ${remote.loadSeconds.toFixed(1)} s)`);
  sshd = await startSshd({ listen: remote.address, prefix: ['ip', 'netns', 'exec', remote.netns], forcedCommand: remote.dialStdio });
}, 600_000);

afterAll(async () => {
  await sshd?.stop();
  await remote?.stop();
}, 120_000);

/** How a user's environment names the remote engine, for each way of reaching it. */
const TRANSPORTS: { name: string; env: () => NodeJS.ProcessEnv }[] = [
  { name: 'over TLS (DOCKER_HOST=tcp://…:2376, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH)', env: () => remote.env },
  { name: 'over ssh (DOCKER_HOST=ssh://…, the ssh client and docker system dial-stdio)', env: () => ({ DOCKER_HOST: sshd.url, PATH: `${sshd.bin}:${process.env.PATH}` }) },
];

/** The CLI (or a demo script) as a user with the remote engine's variables set runs it. */
const onRemote = (transport: NodeJS.ProcessEnv, args: string[], env: NodeJS.ProcessEnv, program?: string) =>
  runCli(args, { env: { ...transport, ...env }, program, timeoutMs: 150_000 });

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

describe.each(TRANSPORTS)('a remote engine $name', (transport) => {
  it('runs the demo story: inputs streamed in, the lent key swapped at the local gateway, outputs streamed out, nothing left remotely', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const out = path.join(dir, 'report');
    const home = path.join(dir, 'home');
    const since = Math.floor(Date.now() / 1000);
    const result = await onRemote(transport.env(), ['--output', out], { AIRLOCK_HOME: home }, path.join(REPO, 'scripts', 'demo.mjs'));
    expect(result.stderr).not.toMatch(/^demo:/m);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const stdout = result.stdout;
    const container = /started \(container ([0-9a-f]{12})\)/.exec(stdout)?.[1];
    // It ran there, not on this machine's engine: the remote engine created the task's containers.
    const created = remoteContainersCreated(since);
    expect(created.some((id) => id.startsWith(container!))).toBe(true);
    expect(created).toHaveLength(2); // the sidecar and the agent
    if (transport.env().DOCKER_HOST!.startsWith('ssh://')) expect(fs.readFileSync(path.join(sshd.dir, 'sshd.log'), 'utf8')).toMatch(/Accepted publickey for \S+ from 10\.213\./);
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
    const verify = await onRemote(transport.env(), ['audit', 'verify'], { AIRLOCK_HOME: home });
    expect(verify.code, verify.stderr).toBe(0);
    expect(remoteLeftovers()).toEqual([]);
    const secret = new Keychain().get('credential:demo-vendor-api')!;
    // Everything the remote engine keeps but the image layers (made before this key existed; the
    // task's own layers are searched while it runs in the credentialed test below).
    const kept = fs.readdirSync(remote.dataRoot).filter((entry) => entry !== 'overlay2').map((entry) => path.join(remote.dataRoot, entry));
    expect(filesContaining(kept, secret)).toEqual([]);
  });
});

/** An HTTPS API on 127.0.0.1 for `name`, recording which key each request carried. */
async function startVendor(name: string, secret: string) {
  const ca = makeTestCa('remote-engine vendor CA');
  const seen: string[] = [];
  const server = https.createServer(ca.leaf([name]), (req, res) => {
    const auth = req.headers.authorization ?? '';
    seen.push(auth === `Bearer ${secret}` ? 'the real key' : auth ? 'another key' : 'no key');
    res.writeHead(auth === `Bearer ${secret}` ? 200 : 401).end('vendor says hello\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { ca, seen, port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** `airlock run` in the background; `output()` is what it printed so far, `exit` its end. */
function startRun(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ...options.env } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => ((exited = true), resolve(code))));
  return { output: () => output, exit, exited: () => exited, kill: () => child.kill('SIGTERM') };
}

describe.each(TRANSPORTS)('a credentialed task on the remote engine $name', (transport) => {
  it('holds only a placeholder there: the key is in no container\'s config, environment or files; the vendor got the real key', { timeout: 150_000 }, async () => {
    const dir = tempDir();
    const home = path.join(dir, 'home');
    const name = 'api.remote-vendor.test';
    const secret = `rv_${randomBytes(24).toString('base64url')}`;
    const vendor = await startVendor(name, secret);
    const env = { ...TEST_ENGINE_ENV, ...transport.env(), AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${name}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: vendor.ca.file };
    execFileSync(process.execPath, [CLI, 'cred', 'add', 'remote-vendor', '--host', `${name}:${vendor.port}`], { input: secret, env: { ...process.env, ...env } });
    const script = [
      // A control for the search below: the placeholder the sandbox holds, written to its workspace.
      'printf %s "$VENDOR_TOKEN" > /workspace/placeholder.txt',
      `curl -sS -H "Authorization: Bearer $VENDOR_TOKEN" https://${name}:${vendor.port}/v1/ping`,
      'echo called; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo finished',
    ].join('; ');
    fs.writeFileSync(path.join(dir, 'agent.yaml'), [
      'name: remote-cred',
      `command: ["sh", "-c", ${JSON.stringify(script)}]`,
      `network: { mode: allowlist, allow: [], local: ["${name}:${vendor.port}"] }`,
      'credentials: [ { name: remote-vendor, ttl: 5m, env: VENDOR_TOKEN } ]',
      'timeout: 2m',
    ].join('\n'));
    execFileSync(process.execPath, [CLI, 'agents', 'approve', path.join(dir, 'agent.yaml')], { env: { ...process.env, ...env } });
    const run = startRun(['run', 'agent.yaml'], { cwd: dir, env });
    try {
      await waitFor(async () => (/│ called/.test(run.output()) || run.exited() ? true : undefined), 'the agent to have called the vendor', 90_000);
      expect(run.output()).toMatch(/│ called/);
      expect(run.output()).toContain('│ vendor says hello');
      expect(vendor.seen).toEqual(['the real key']);

      const containers = remote.docker(['ps', '-q', '--no-trunc', '--filter', 'label=airlock.task']).split('\n').filter(Boolean);
      expect(containers).toHaveLength(2); // the sidecar and the agent, on the remote engine
      const agent = containers.find((id) => remote.docker(['inspect', '--format', '{{index .Config.Labels "airlock.role"}}', id]).trim() !== 'sidecar')!;
      const placeholder = remote.docker(['exec', agent, 'cat', '/workspace/placeholder.txt']);
      expect(placeholder).toMatch(/^eyJ/);
      // What the remote engine holds: its containers' configuration, the processes' environment,
      // and every file the task's containers and volumes wrote (their upper layers and volumes).
      const inspected = remote.docker(['inspect', ...containers]);
      const environ = remote.docker(['exec', agent, 'sh', '-c', 'cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"']);
      expect(environ).toContain(`VENDOR_TOKEN=${placeholder}`);
      const written = [
        ...containers.map((id) => remote.docker(['inspect', '--format', '{{.GraphDriver.Data.UpperDir}}', id]).trim()),
        path.join(remote.dataRoot, 'volumes'), path.join(remote.dataRoot, 'containers'),
      ];
      expect(filesContaining(written, placeholder).length).toBeGreaterThan(0); // the search does reach the workspace
      expect(inspected).not.toContain(secret);
      expect(environ).not.toContain(secret);
      expect(filesContaining(written, secret)).toEqual([]);

      remote.docker(['exec', agent, 'touch', '/tmp/go']);
      expect(await run.exit).toBe(0);
      expect(run.output()).toMatch(/⚷ remote-vendor used: GET api\.remote-vendor\.test\/v1\/ping → 200/);
      expect(run.output()).not.toContain(secret);
      expect(remoteLeftovers()).toEqual([]);
    } finally {
      run.kill();
      await run.exit;
      vendor.close();
    }
  });
});

describe.each(TRANSPORTS)('a display task on the remote engine $name', (transport) => {
  it('runs the desktop demo: the browser on the remote sandbox\'s screen, screenshots in the local log', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const out = path.join(dir, 'finding');
    const home = path.join(dir, 'home');
    const since = Math.floor(Date.now() / 1000);
    const result = await onRemote(transport.env(), ['--output', out], { AIRLOCK_HOME: home }, path.join(REPO, 'scripts', 'demo-desktop.mjs'));
    expect(result.stderr).not.toMatch(/^demo:/m);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(remoteContainersCreated(since).length).toBeGreaterThanOrEqual(2);
    expect(result.stdout).toMatch(/screen 1280×800 up/);
    expect(result.stdout).toMatch(/⚷ demo-portal used: POST portal\.vendor\.test\/session → 204/);
    expect(result.stdout).toMatch(/screenshot screens\/\d{4}\.png \(navigation https:\/\/files\.unknown\.test\/upload\)/);
    expect(fs.readFileSync(path.join(out, 'finding.md'), 'utf8')).toMatch(/\*\*Hold the payment\.\*\*/);
    const task = /npx airlock log (t_[0-9a-z]{26})/.exec(result.stdout)![1]!;
    const screens = fs.readdirSync(path.join(home, 'tasks', task, 'screens'));
    expect(screens.length).toBeGreaterThanOrEqual(4);
    expect(fs.readFileSync(path.join(home, 'tasks', task, 'screens', screens[0]!)).subarray(1, 4).toString()).toBe('PNG');
    expect(remoteLeftovers()).toEqual([]);
  });
});

describe.each(TRANSPORTS)('Airlock\'s engine killed mid-task, with a remote engine $name', (transport) => {
  it('the remote sandbox ends by itself (its lifeline is the connection), and the next engine records task.aborted', { timeout: 90_000 }, async () => {
    const home = path.join(tempDir(), 'home');
    const env = { ...transport.env(), AIRLOCK_HOME: home };
    const start = await runCli(['engine', 'start'], { env });
    expect(start.code, start.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(start.stdout)?.[1]);
    const client = await testClient(home);
    let next: Awaited<ReturnType<typeof testClient>> | undefined;
    try {
      client.onLost(() => undefined);
      const { task } = await runInEngine(client, tempDir(), 'name: remote-crash\ncommand: ["sh", "-c", "echo up; sleep 120"]\n');
      const running = () => remote.docker(['ps', '-q', '--filter', `label=airlock.task=${task}`]).split('\n').filter(Boolean);
      expect(running()).toHaveLength(2);

      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await waitFor(async () => (running().length === 0 ? true : undefined), 'the remote sandbox to stop on its own', 15_000);
      expect(Date.now() - killedAt).toBeLessThan(10_000);

      // The next engine (same settings) reaps what is left there and records the loss locally.
      const restarted = await runCli(['engine', 'start'], { env });
      expect(restarted.code, restarted.stderr).toBe(0);
      next = await testClient(home);
      const client2 = next;
      const aborted = await waitFor(async () => {
        const page = await client2.call('audit.query', { task, kinds: ['task.aborted'], limit: 10 });
        return (page.records as AirlockEvent[]).find((r) => r.kind === 'task.aborted');
      }, 'task.aborted in the trail', 20_000);
      expect(aborted.task).toBe(task);
      await waitFor(async () => (remoteLeftovers().length === 0 ? true : undefined), 'the leftovers on the remote engine to be reaped', 20_000);
    } finally {
      await client.close().catch(() => undefined);
      await next?.close();
      await stopEngine(home);
    }
  });
});

describe('the TLS engine with a CA that did not sign it', () => {
  it('is refused in one line with the fix: Airlock never runs a task on an engine it could not verify', async () => {
    const dir = tempDir();
    const certs = path.join(dir, 'certs');
    fs.cpSync(remote.env.DOCKER_CERT_PATH, certs, { recursive: true });
    fs.writeFileSync(path.join(certs, 'ca.pem'), makeTestCa('not the engine\'s CA').pem); // the right client pair, another CA
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(file, 'name: unverified\ncommand: ["echo", "should never run"]\n');
    const home = path.join(dir, 'home');
    approve(file, home);
    const since = Math.floor(Date.now() / 1000);
    const run = await runCli(['run', file], { env: { ...remote.env, DOCKER_CERT_PATH: certs, AIRLOCK_HOME: home } });
    expect(run.stdout).not.toContain('should never run');
    expect(run.stderr).toMatch(/^airlock: cannot reach the Docker engine at tcp:\/\/10\.213\.\d+\.\d+:2376 \(DOCKER_HOST\): its TLS certificate is not one the CA you gave signed for that name \([A-Z_]+\); Airlock does not connect unverified\n {2}fix: .*ca\.pem.*\n$/);
    expect(run.code).toBe(125); // as `docker run` when it cannot reach the daemon
    expect(remoteContainersCreated(since)).toEqual([]);
  });
});
