import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { approve, childResult, CLI, REPO, runCli, tempDir, waitFor, type CliResult } from '../helpers/env.js';

function parseLines(text: string) {
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** `node scripts/demo.mjs --json …`: the demo (vendor API, lent credential, refusals) as `npm run demo` runs it. */
function runDemoJson(out: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return childResult(spawn(process.execPath, [path.join(REPO, 'scripts', 'demo.mjs'), '--json', '--output', out], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', ...env } }));
}

/** A task that is just "some task": a manifest of its own, no network. */
/** A small approved agent, for tests that only need some task in the trail. */
function tinyManifest(dir: string): string {
  const file = path.join(dir, 'tiny.yaml');
  fs.writeFileSync(file, 'name: tiny\ncommand: ["sh", "-c", "echo reviewing; echo done"]\n');
  approve(file, path.join(dir, 'home'));
  return file;
}

describe('airlock log and airlock audit', () => {
  it('log <task> replays exactly what the demo did, credential and refusals included; verify says intact; one changed byte is caught', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const env = { AIRLOCK_HOME: path.join(dir, 'home') };
    const run = await runDemoJson(path.join(dir, 'out'), env);
    expect(run.code).toBe(0);
    const live = parseLines(run.stdout);
    const task = live[0].task as string;

    const replay = await runCli(['log', task, '--json'], { env });
    const stored = parseLines(replay.stdout);
    expect(stored.map(({ n: _n, prev: _p, hash: _h, ...event }) => event)).toEqual(live);
    // In the trail's order (numbers shared with records of other things the engine saw, e.g. another home's sandboxes, left alone).
    expect(stored.map((r) => r.n)).toEqual(stored.map((r) => r.n).toSorted((a: number, b: number) => a - b));
    expect(new Set(stored.map((r) => r.n)).size).toBe(live.length);

    const readable = await runCli(['log', task], { env });
    expect(readable.stdout).toMatch(/INV-1043: supplier 'Acme Tooling' bank account differs from directory — flagged/);
    expect(readable.stdout).toMatch(/⚷ lent demo-vendor-api for api\.vendor\.test:18443/);
    expect(readable.stdout).toMatch(/⚷ demo-vendor-api used: GET api\.vendor\.test\/v1\/suppliers\/SUP-001\/bank-account → 200/);
    expect(readable.stdout).toMatch(/✗ refused CONNECT files\.sharing\.test:443: files\.sharing\.test:443 is not in this task's allowlist/);
    expect(readable.stdout).toMatch(/⚠ credential misuse refused: a credential placeholder sent over plain HTTP to collector\.test:80/);
    // The trail holds the placeholder's use, never the key.
    const secret = new Keychain().get('credential:demo-vendor-api');
    expect(secret).toBeTruthy();
    const segments = path.join(env.AIRLOCK_HOME, 'audit', 'segments');
    for (const name of fs.readdirSync(segments)) expect(fs.readFileSync(path.join(segments, name), 'utf8')).not.toContain(secret!);

    const verify = await runCli(['audit', 'verify'], { env });
    // Every record of the trail: the task's, and any the engine made about other homes' sandboxes it saw.
    expect(verify.code).toBe(0);
    expect(Number(/^intact, (\d+) records, head signed\nhead signing key: SHA256:[A-Za-z0-9+/]{43}\n$/.exec(verify.stdout)?.[1])).toBeGreaterThanOrEqual(live.length);

    const segment = path.join(env.AIRLOCK_HOME, 'audit', 'segments', fs.readdirSync(path.join(env.AIRLOCK_HOME, 'audit', 'segments'))[0]!);
    const text = fs.readFileSync(segment, 'utf8');
    fs.writeFileSync(segment, text.replace('bank account differs', 'bank account matches'));
    const tampered = await runCli(['audit', 'verify'], { env });
    const line = text.split('\n').findIndex((l) => l.includes('bank account differs')) + 1;
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(new RegExp(`^NOT INTACT at record ${line} \\(\\d{12}-\\d{8}\\.jsonl, line ${line}\\): record ${line} was altered`));
  });

  it('audit export hands a task\'s record over as CSV or JSONL', async () => {
    const dir = tempDir();
    const env = { AIRLOCK_HOME: path.join(dir, 'home') };
    const manifest = tinyManifest(dir);
    const run = await runCli(['run', manifest, '--json'], { env });
    expect(run.code).toBe(0);
    const task = parseLines(run.stdout).find((e) => e.kind === 'task.created')!.task as string;
    await runCli(['run', manifest, '--json'], { env });

    const csv = await runCli(['audit', 'export', '--format', 'csv', '--task', task], { env });
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^n,time,task,parent,agent,agent_digest,actor,kind,/);
    expect(rows.slice(1).every((r) => r.includes(`,${task},`))).toBe(true);
    expect(rows).toHaveLength(parseLines(run.stdout).length + 1);

    const file = path.join(dir, 'export.jsonl');
    const jsonl = await runCli(['audit', 'export', '--format', 'jsonl', '--output', file], { env });
    expect(jsonl.stderr).toMatch(/exported \d+ records/);
    expect(new Set(parseLines(fs.readFileSync(file, 'utf8')).map((r) => r.task).filter((t: string) => t.startsWith('t_'))).size).toBe(2);

    const bad = await runCli(['audit', 'export', '--format', 'xml'], { env });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/--format: 'xml' is not jsonl or csv/);
  });

  it('log --follow shows a task started from another process, live', async () => {
    const dir = tempDir();
    const env = { ...process.env, NO_COLOR: '1', AIRLOCK_HOME: path.join(dir, 'home') };
    const follower = spawn(process.execPath, [CLI, 'log', '--follow', '--json'], { env });
    let followed = '';
    follower.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    await new Promise((r) => setTimeout(r, 500));
    const run = await runCli(['run', tinyManifest(dir), '--json'], { env });
    expect(run.code).toBe(0);
    const task = parseLines(run.stdout).find((e) => e.kind === 'task.created')!.task as string;
    await waitFor(async () => (followed.includes('"kind":"task.destroyed"') ? true : undefined), 'the follower to see the task end');
    follower.kill('SIGINT');
    const seen = parseLines(followed).filter((r) => r.task === task);
    // The run's own start may reap another process's leftovers (a task.aborted of another task): compare this task's records.
    expect(seen.map((r) => r.kind)).toEqual(parseLines(run.stdout).filter((e) => e.task === task).map((e) => e.kind));
  });
});
