/**
 * `airlock doctor`'s engine part against this machine's real engine, as the CLI prints it: a real
 * round trip (a labelled container created and removed), the latency, and the user's rights on
 * the socket, checked by the kernel for a real unprivileged user (nobody, with and without the
 * socket's group). Its verdict is what `run` does: doctor not ok ⇔ run refuses.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../main/core/service/doctor.js';
import { approve, childResult, CLI, REPO, runCli, tempDir, type CliResult } from '../helpers/env.js';

const SOCKET = '/var/run/docker.sock';
const NOBODY = 65534;
const doctorContainers = () => execFileSync('docker', ['ps', '-aq', '--filter', 'label=airlock.doctor'], { encoding: 'utf8' }).trim();

/** A folder nobody owns, with an approved manifest that says hello. */
function nobodysHome(): { dir: string; home: string; manifest: string } {
  const dir = tempDir();
  const manifest = path.join(dir, 'hello.yaml');
  fs.writeFileSync(manifest, 'name: hello\ncommand: ["echo", "hello from the sandbox"]\nnetwork: { mode: none }\n');
  approve(manifest, path.join(dir, 'home'));
  fs.mkdirSync(path.join(dir, 'keyring'));
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
  return { dir, home: path.join(dir, 'home'), manifest };
}

/**
 * The CLI as the user nobody (setpriv: real uid, gid and supplementary groups), in a D-Bus session
 * of its own with an unlocked gnome-keyring, so only the engine's rights differ between runs.
 */
function runAsNobody(args: string[], dir: string, groups: number[]): Promise<CliResult> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const groupArgs = groups.length ? ['--groups', groups.join(',')] : ['--clear-groups'];
  return childResult(spawn('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), ...groupArgs, 'env', '-u', 'DBUS_SESSION_BUS_ADDRESS',
    `HOME=${dir}`, `XDG_DATA_HOME=${path.join(dir, 'keyring')}`, `AIRLOCK_HOME=${path.join(dir, 'home')}`, 'AIRLOCK_ENGINE=inprocess', 'NO_COLOR=1',
    'dbus-run-session', '--', 'sh', '-c', `echo -n x | gnome-keyring-daemon --unlock --components=secrets >/dev/null && ${quoted}`], { cwd: REPO }));
}

const dockerGid = () => fs.statSync(SOCKET).gid;

describe('airlock doctor: the engine', () => {
  it('creates and removes a labelled container, reports the latency and who may use the socket; leaves nothing', async () => {
    const home = path.join(tempDir(), 'home');
    const result = await runCli(['doctor', '--json'], { env: { AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess' } });
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.engine).toMatchObject({ ok: true, roundTrip: true, access: { ok: true, message: `root may use ${SOCKET} (root:docker, 660)` } });
    expect(report.engine.latencyMs).toBeGreaterThan(0);
    expect(report.engine.latencyMs).toBeLessThan(1000);
    expect(doctorContainers()).toBe('');
    const text = await runCli(['doctor'], { env: { AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess' } });
    expect(text.stdout).toMatch(/\n {8}latency {3}[\d.]+ ms; created and removed a container of airlock\/agent-base:1\n/);
    expect(text.stdout).toContain(`        access    root may use ${SOCKET}`);
  });

  it('a user outside the docker group: doctor says so with the usermod fix, and run refuses with the same fix', async () => {
    const { dir, manifest } = nobodysHome();
    const doctor = await runAsNobody(['doctor', '--json'], dir, []);
    const report = JSON.parse(doctor.stdout) as DoctorReport;
    const fix = 'sudo usermod -aG docker nobody, then log in again (or run `newgrp docker`); or use a rootless engine';
    expect(report.ok).toBe(false);
    expect(report.engine).toMatchObject({ ok: false, message: `nobody may not use ${SOCKET} (root:docker, 660): not in the group docker`, fix, access: { ok: false } });
    const run = await runAsNobody(['run', manifest], dir, []);
    expect(run.code).toBe(125);
    expect(run.stdout).not.toContain('hello from the sandbox');
    expect(run.stderr).toContain(`nobody may not use ${SOCKET} (root:docker, 660): not in the group docker`);
    expect(run.stderr).toContain(`fix: ${fix}`);
  });

  it('the same user in the docker group: doctor\'s engine is ok, and run runs', async () => {
    const { dir, manifest } = nobodysHome();
    const report = JSON.parse((await runAsNobody(['doctor', '--json'], dir, [dockerGid()])).stdout) as DoctorReport;
    expect(report.engine).toMatchObject({ ok: true, roundTrip: true, access: { ok: true, message: expect.stringMatching(/^nobody may use .* as a member of docker/) } });
    const run = await runAsNobody(['run', manifest], dir, [dockerGid()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('hello from the sandbox');
  });

  it('an engine that answers but refuses to create containers (as an authorization plugin does): doctor not ok, and run refuses', async () => {
    // The real engine behind a socket that refuses POST /containers/create with the engine's 403, as
    // Docker does when an authorization plugin denies it; every other request reaches the engine.
    const dir = tempDir();
    const socket = path.join(dir, 'authz.sock');
    const denial = 'authorization denied by plugin airlock-test-authz: no new containers';
    const server = http.createServer((req, res) => {
      if (req.method === 'POST' && /\/containers\/create/.test(req.url ?? '')) {
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: denial }));
        return;
      }
      const upstream = http.request({ socketPath: SOCKET, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const env = { AIRLOCK_HOME: path.join(dir, 'home'), AIRLOCK_ENGINE: 'inprocess', DOCKER_HOST: `unix://${socket}` };
      const report = JSON.parse((await runCli(['doctor', '--json'], { env })).stdout) as DoctorReport;
      expect(report.ok).toBe(false);
      expect(report.engine).toMatchObject({ ok: false, roundTrip: false, message: expect.stringContaining(`did not create a container of airlock/agent-base:1: ${denial}`) });
      const manifest = path.join(dir, 'hello.yaml');
      fs.writeFileSync(manifest, 'name: hello\ncommand: ["echo", "hello from the sandbox"]\nnetwork: { mode: none }\n');
      approve(manifest, env.AIRLOCK_HOME);
      const run = await runCli(['run', manifest], { env });
      expect(run.code).toBe(125);
      expect(run.stdout).not.toContain('hello from the sandbox');
      expect(run.stdout + run.stderr).toContain(denial);
    } finally {
      server.close();
    }
  });
});
