import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { REPO, runCli, tempDir, type CliResult } from '../helpers/env.js';

const DEMO = path.join(REPO, 'scripts', 'demo.mjs');
const DESKTOP_DEMO = path.join(REPO, 'scripts', 'demo-desktop.mjs');

/** Runs `node scripts/demo.mjs` (what `npm run demo` runs after building the CLI) as a user would. */
function runDemo(args: string[], env: NodeJS.ProcessEnv, script = DEMO): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 110_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The demo's key, as `npm run demo` stored it in the OS keychain (made anew on every run). */
const demoSecret = () => new Keychain().get('credential:demo-vendor-api');

/** Files under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => fs.readFileSync(file).includes(needle));
}

describe('npm run demo:desktop', () => {
  it('a computer-use agent signs in to the portal in its browser with a placeholder, reads the invoice, sees the refusal page; screenshots in the log', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const out = path.join(dir, 'finding');
    const home = path.join(dir, 'home');
    const result = await runDemo(['--output', out], { AIRLOCK_HOME: home }, DESKTOP_DEMO);
    expect(result.stderr).not.toMatch(/^demo:/m);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const stdout = result.stdout;
    expect(stdout).toMatch(/screen 1280×800 up/);
    expect(stdout).toMatch(/⚷ demo-portal used: POST portal\.vendor\.test\/session → 204/);
    expect(stdout).toMatch(/agent: read: Nordwind Logistics GmbH, EUR 18,420\.00, due 2026-12-15, IBAN DE44 5001 0517 5407 3249 31/);
    expect(stdout).toMatch(/✗ refused CONNECT files\.unknown\.test:443/);
    expect(stdout).toMatch(/agent: the browser shows: Airlock refused files\.unknown\.test:443/);
    expect(stdout).toMatch(/screenshot screens\/\d{4}\.png \(navigation https:\/\/files\.unknown\.test\/upload\)/);
    expect(stdout).toMatch(/POST \/session with the real key → 204/);
    expect(stdout).not.toMatch(/with an Airlock placeholder/);
    expect(fs.readFileSync(path.join(out, 'finding.md'), 'utf8')).toMatch(/\*\*Hold the payment\.\*\* Bank details updated/);
    const task = /npx airlock log (t_[0-9a-z]{26})/.exec(stdout)![1]!;
    expect(fs.readdirSync(path.join(home, 'tasks', task, 'screens')).length).toBeGreaterThanOrEqual(4);
    const secret = new Keychain().get('credential:demo-portal');
    expect(secret).toMatch(/^nwp_demo_/);
    expect(result.stdout + result.stderr).not.toContain(secret!);
    expect(filesContaining(home, secret!)).toEqual([]);
  });
});

describe('npm run demo', () => {
  it('tells the whole story: a lent credential used, a refused host, a refused misuse; the key is nowhere but the keychain', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const out = path.join(dir, 'report');
    const home = path.join(dir, 'home');
    const tmp = path.join(dir, 'tmp');
    fs.mkdirSync(tmp);
    const result = await runDemo(['--output', out], { AIRLOCK_HOME: home, TMPDIR: tmp });
    expect(result.stderr).not.toMatch(/^demo:/m);
    expect(result.code).toBe(0);
    const stdout = result.stdout;
    expect(stdout).toMatch(/stored demo-vendor-api in the OS keychain: for api\.vendor\.test:18443 \(Authorization: Bearer …\), at most 15m per task/);
    expect(stdout).toMatch(/started \(container [0-9a-f]{12}\)/);
    expect(stdout).toMatch(/INV-1043: supplier 'Acme Tooling' bank account differs from directory — flagged/);
    // The credential, lent as a placeholder and swapped for the key at the gateway.
    expect(stdout).toMatch(/⚷ lent demo-vendor-api for api\.vendor\.test:18443 until \d\d:\d\d:\d\d \(proxy, \$VENDOR_TOKEN\)/);
    expect(stdout).toMatch(/\$VENDOR_TOKEN is a placeholder from airlock \(eyJ[^)]*\) for api\.vendor\.test:18443/);
    for (const id of ['SUP-001', 'SUP-002', 'SUP-003', 'SUP-005']) {
      expect(stdout).toContain(`⚷ demo-vendor-api used: GET api.vendor.test/v1/suppliers/${id}/bank-account → 200`);
    }
    expect(stdout).toMatch(/SUP-001: the vendor confirms DE44 5001 0517 5407 3249 31, as in the directory/);
    expect(stdout).toMatch(/SUP-001: INV-1043 \(INV-1043\.json\) asks for payment to DE75 5121 0800 1245 1261 99, which is NOT Acme Tooling GmbH's account/);
    // A host it was not given: refused by name, before any DNS lookup.
    expect(stdout).toMatch(/✗ refused CONNECT files\.sharing\.test:443: files\.sharing\.test:443 is not in this task's allowlist \(rule allowlist\)/);
    expect(stdout).toMatch(/│ refused: fetch failed, cause: Proxy response \(403\)/);
    // Its token sent elsewhere: refused as a misuse, and the agent saw the gateway's explanation.
    expect(stdout).toMatch(/⚠ credential misuse refused: a credential placeholder sent over plain HTTP to collector\.test:80/);
    expect(stdout).toMatch(/│ refused with 403: Airlock refused this request: a credential placeholder sent over plain HTTP to collector\.test:80/);
    expect(stdout).toMatch(/⚷ demo-vendor-api: grant revoked/);
    expect(stdout).toMatch(/exited with code 0/);
    expect(stdout).toMatch(/sandbox destroyed \(2 containers, 2 volumes\)/);
    expect(stdout).toContain(`outputs (2 files): ${out}`);
    // What the vendor saw: the real key, every time.
    expect(stdout).toMatch(/the vendor API received 4 request\(s\)/);
    expect(stdout.match(/with the real key → 200/g)).toHaveLength(4);
    expect(stdout).toMatch(/Replay it from the audit trail: npx airlock log t_[0-9a-z]{26}/);

    const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain('## Bank accounts confirmed with the vendor API');
    expect(report).toContain('| Acme Tooling GmbH | SUP-001 | DE44 5001 0517 5407 3249 31 | matches | INV-1041 ok; INV-1043 pays DE75 5121 0800 1245 1261 99 | **an invoice asks for another account: do not pay it** |');
    expect(report).toContain('| Helios Cloud Services AB | SUP-005 | SE45 5000 0000 0583 9825 7466 | matches | INV-1047 ok | confirmed |');
    expect(report).toMatch(/directory DE44 5001 0517 5407 3249 31 \(the vendor API confirms the directory's account\)/);
    expect(report).toMatch(/- upload to a host that is not allowed \(https:\/\/files\.sharing\.test\/upload\): refused/);
    expect(report).toMatch(/- the token sent to another host \(http:\/\/collector\.test\/collect\): refused — Airlock refused this request/);
    const findings = JSON.parse(fs.readFileSync(path.join(out, 'findings.json'), 'utf8'));
    expect(findings.summary).toEqual({ invoices: 8, suppliers: 5, findings: 6, bankAccountsConfirmed: 4 });
    expect(findings.bankAccounts.checks.map((c: { supplierId: string; result: string }) => [c.supplierId, c.result]).sort()).toEqual([
      ['SUP-001', 'invoice-differs'], ['SUP-002', 'confirmed'], ['SUP-003', 'confirmed'], ['SUP-005', 'confirmed'],
    ]);
    expect(findings.networkAttempts.map((a: { refused: boolean }) => a.refused)).toEqual([true, true]);

    // The key: in the keychain, and nowhere else.
    const secret = demoSecret();
    expect(secret).toMatch(/^vnd_demo_[A-Za-z0-9_-]{32}$/);
    expect(result.stdout + result.stderr).not.toContain(secret!);
    expect(filesContaining(home, secret!)).toEqual([]);
    expect(filesContaining(out, secret!)).toEqual([]);
    expect(fs.readdirSync(tmp).filter((name) => name.startsWith('airlock-demo-'))).toEqual([]); // its certificate is removed
  });

  it('--json prints one event per line, in order, all of one task; what the demo says goes to stderr', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const result = await runDemo(['--json', '--output', path.join(dir, 'out')], { AIRLOCK_HOME: path.join(dir, 'home') });
    expect(result.code).toBe(0);
    const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ v: 1, seq: 1, kind: 'task.created', actor: 'airlock', agent: { name: 'demo' } });
    expect(events[0].data.networkPolicy).toMatchObject({ mode: 'allowlist', allow: [], local: ['api.vendor.test:18443'] });
    expect(events.at(-1)).toMatchObject({ kind: 'task.destroyed' });
    expect(new Set(events.map((e) => e.task)).size).toBe(1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.kind === 'fs.output').map((e) => path.basename(e.data.file)).sort()).toEqual(['findings.json', 'report.md']);
    const kinds = events.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'cred.granted')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'cred.used')).toHaveLength(4);
    expect(kinds.filter((k) => k === 'cred.revoked')).toHaveLength(1);
    expect(events.find((e) => e.kind === 'cred.used')).toMatchObject({ identity: { credential: 'demo-vendor-api' }, data: { host: 'api.vendor.test', status: 200 } });
    const denied = events.filter((e) => e.kind === 'net.denied');
    expect(denied.map((e) => [e.data.host, e.data.port, e.decision.rule])).toEqual([
      ['files.sharing.test', 443, 'allowlist'], // refused by name: the gateway never looked it up
      ['collector.test', 80, 'credential:misuse'],
    ]);
    expect(events.filter((e) => e.kind === 'cred.misuse').map((e) => e.data.host)).toEqual(['collector.test']);
    expect(result.stderr).toMatch(/stored demo-vendor-api in the OS keychain/);
    expect(result.stderr).toMatch(/the vendor API received 4 request\(s\)/);
    const secret = demoSecret();
    expect(result.stdout + result.stderr).not.toContain(secret!);
  });

  it('says in one line when the vendor API\'s port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(18443, '127.0.0.1', resolve));
    try {
      const result = await runDemo([], { AIRLOCK_HOME: path.join(tempDir(), 'home') });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe('demo: port 18443 on 127.0.0.1, where the pretend vendor API listens, is already in use (is another demo running?); free it and try again');
    } finally {
      blocker.close();
    }
  });
});

describe('airlock doctor', () => {
  it('reports the engine, its API version, the keychain and the image', async () => {
    const result = await runCli(['doctor', '--json'], { env: { AIRLOCK_HOME: path.join(tempDir(), 'home') } });
    const report = JSON.parse(result.stdout);
    expect(report.engine).toMatchObject({ ok: true });
    expect(report.engine.apiVersion).toMatch(/^1\.\d+$/);
    expect(report.keychain).toMatchObject({ ok: true });
    expect(report.images).toEqual([
      expect.objectContaining({ ref: 'airlock/agent-base:1', present: true }),
      // Only tasks with display: need it: reported, present or not, without failing the report.
      expect.objectContaining({ ref: 'airlock/agent-desktop:1', optional: true }),
      // Each kit's image: built on its first run, so never a failure, present or not.
      ...['claude-code', 'codex', 'gemini-cli'].map((kit) => expect.objectContaining({ kit, ref: expect.stringMatching(new RegExp(`^airlock/kit-${kit}:\\d`)), optional: true })),
    ]);
    expect(result.code).toBe(0);
  });

  it('says plainly what is missing and how to fix it', async () => {
    const dir = tempDir();
    const result = await runCli(['doctor'], { env: { AIRLOCK_HOME: path.join(dir, 'home'), DOCKER_HOST: `unix://${dir}/none.sock` } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/MISSING engine +no engine socket at \/.*none\.sock\n +endpoint +unix:\/\/.*none\.sock \(DOCKER_HOST\)/);
    expect(result.stdout).toMatch(/fix: +start the engine \(`sudo systemctl start docker`/);
    expect(result.stdout).toMatch(/not ready: fix the items marked MISSING/);
  });
});
