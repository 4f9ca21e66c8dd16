// Package registries by name, for real: an agent in a real sandbox installs a package with npm, runs
// one with npx, installs one with pip (a user install) and in a venv — from pretend company
// registries on `.test` names (HTTPS on loopback, a test CA), reached through the gateway because
// `--registry npm=URL` / `pypi=URL` gave the task exactly their host and port — and a registry it
// was not given is refused and logged. AIRLOCK_TEST_BASE_IMAGE=<tag> runs it against a candidate
// agent-base build.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { BASE_IMAGE as DEFAULT_BASE_IMAGE } from '../../main/core/images/image-names.js';
import { approve, runCli, tempDir } from '../helpers/env.js';
import { pretendNpmRegistry, pretendPypi, type PretendRegistry } from '../helpers/package-registries.js';
import { makePretendCa, type PretendCa } from '../helpers/providers/pretend-https.js';

const BASE_IMAGE = process.env.AIRLOCK_TEST_BASE_IMAGE || DEFAULT_BASE_IMAGE;
const NPM_HOST = 'npm.registry.test';
const PYPI_HOST = 'pypi.registry.test';
const OTHER_HOST = 'other.registry.test';

let tls: PretendCa;
let npm: PretendRegistry;
let pypi: PretendRegistry;
let gatewayEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  tls = await makePretendCa();
  npm = await pretendNpmRegistry(tls, NPM_HOST, 'airlock-hello', '1.0.0', 'hello from npm');
  pypi = await pretendPypi(tls, 'airlock-hello-py', 'airlock_hello_py', '1.0.0', 'hello from pypi');
  // The names point at loopback for the gateway only; a `local` rule is what lets it dial there.
  gatewayEnv = { AIRLOCK_GATEWAY_HOSTS: [NPM_HOST, PYPI_HOST, OTHER_HOST].map((h) => `${h}=127.0.0.1`).join(',') };
});
afterAll(async () => {
  await npm?.close();
  await pypi?.close();
});

/** An approved manifest in a fresh home; the agent trusts the registries' test CA (a company registry's own CA works the same way). */
function installer(script: string, network: string): { file: string; home: string } {
  const dir = tempDir('airlock-registries-');
  fs.copyFileSync(tls.caFile, path.join(dir, 'ca.pem'));
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, [
    'name: installer',
    `image: ${BASE_IMAGE}`,
    `command: ${JSON.stringify(['sh', '-c', script])}`,
    'inputs: [ { from: ./ca.pem, to: /workspace/in/ca.pem } ]',
    'env: { NPM_CONFIG_CAFILE: /workspace/in/ca.pem, PIP_CERT: /workspace/in/ca.pem, NPM_CONFIG_FETCH_RETRIES: "0" }',
    'resources: { memory: 1g }',
    'timeout: 3m',
    `network: ${network}`,
    '',
  ].join('\n'));
  const home = path.join(dir, 'home');
  approve(file, home);
  return { file, home };
}

const eventsOf = (stdout: string): AirlockEvent[] => stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as AirlockEvent);
const stdoutLines = (events: AirlockEvent[]) => events.filter((e) => e.kind === 'proc.stdout').map((e) => String(e.data.line));

describe('package registries named for a task', () => {
  it('npm, npx, pip and a venv install from the named registries through the gateway; another registry is refused and logged', async () => {
    const script = [
      'set -e',
      'mkdir /workspace/app && cd /workspace/app',
      'npm install --loglevel=error airlock-hello',
      './node_modules/.bin/airlock-hello',
      'cd /tmp && npx --yes airlock-hello | sed "s/^/npx: /"',
      'pip install --quiet airlock-hello-py',
      'python3 -c "import airlock_hello_py; print(\'pip:\', airlock_hello_py.hello())"',
      'python3 -m venv /tmp/venv && /tmp/venv/bin/pip install --quiet airlock-hello-py',
      '/tmp/venv/bin/python -c "import airlock_hello_py; print(\'venv:\', airlock_hello_py.hello())"',
      `echo "other: $(npm view airlock-hello version --registry https://${OTHER_HOST}:${npm.port}/ >/dev/null 2>&1 && echo reached || echo refused)"`,
    ].join('\n');
    // The manifest names the public npm registry; the run adds two company registries.
    const { file, home } = installer(script, '{ mode: allowlist, registries: [npm] }');
    const result = await runCli([
      'run', file, '--json',
      '--registry', `npm=https://${NPM_HOST}:${npm.port}`, '--registry', `pypi=https://${PYPI_HOST}:${pypi.port}/simple`,
    ], { env: { AIRLOCK_HOME: home, ...gatewayEnv }, timeoutMs: 170_000 });
    const events = eventsOf(result.stdout);
    const out = stdoutLines(events);
    expect(out, `${result.stderr}\n${events.filter((e) => e.kind === 'proc.stderr').map((e) => e.data.line).join('\n')}`).toEqual(expect.arrayContaining([
      'hello from npm', 'npx: hello from npm', 'pip: hello from pypi', 'venv: hello from pypi', 'other: refused',
    ]));
    expect(result.code).toBe(0);

    // What the task was given, in its record: the preset's hosts, and exactly each company registry's host:port.
    const created = events.find((e) => e.kind === 'task.created')!;
    expect(created.data.networkPolicy).toMatchObject({
      mode: 'allowlist', allow: ['registry.npmjs.org:443'], local: [`${NPM_HOST}:${npm.port}`, `${PYPI_HOST}:${pypi.port}`], widened: true,
      registries: ['npm', `npm=https://${NPM_HOST}:${npm.port}/`, `pypi=https://${PYPI_HOST}:${pypi.port}/simple`],
    });
    // The registries served what the tools asked for, through the gateway.
    expect(npm.requests).toEqual(expect.arrayContaining(['/airlock-hello', '/airlock-hello/-/airlock-hello-1.0.0.tgz']));
    expect(pypi.requests).toEqual(expect.arrayContaining(['/simple/airlock-hello-py/', '/files/airlock_hello_py-1.0.0-py3-none-any.whl']));
    const allowed = events.filter((e) => e.kind === 'net.request' && e.decision?.allow === true).map((e) => e.data.host);
    expect(new Set(allowed)).toEqual(new Set([NPM_HOST, PYPI_HOST]));
    // The registry not named: refused before any lookup, and on the record.
    const denied = events.filter((e) => e.kind === 'net.denied');
    expect(denied.map((e) => e.data.host)).toEqual(expect.arrayContaining([OTHER_HOST]));
    expect(denied.every((e) => e.data.host === OTHER_HOST)).toBe(true);
    expect(events.some((e) => e.kind === 'task.exited' && e.data.exitCode === 0)).toBe(true);
  }, 180_000);

  it('is refused before anything starts without a network, or with a registry URL that is not https', async () => {
    const { file, home } = installer('echo never', '{ mode: none }');
    const none = await runCli(['run', file, '--registry', 'npm'], { env: { AIRLOCK_HOME: home } });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/--registry: the task's network is none/);
    const plain = await runCli(['run', file, '--net', 'allow:x.test', '--registry', 'npm=http://npm.corp.test'], { env: { AIRLOCK_HOME: home } });
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/--registry npm=: http:\/\/ is only for/);
    // A kit's --endpoint is its one host: no registry beside it.
    const kit = await runCli(['run', 'claude-code', '--endpoint', 'https://llm.corp.test', '--registry', 'npm', '--', '-p', 'hi'], { env: { AIRLOCK_HOME: home } });
    expect(kit.code).not.toBe(0);
    expect(kit.stderr).toMatch(/--endpoint sets the network of the run .*so --registry cannot be given with it/);
    expect(`${none.stdout}${plain.stdout}${kit.stdout}`).not.toMatch(/task\.created|sandbox/);
  }, 60_000);
});
