/**
 * Issue 19's "Done when": two Airlock machines (two AIRLOCK_HOMEs, each with its own engine
 * process) forward their trails to one OTLP collector — and to a syslog server and a webhook —
 * through a collector outage, a collector that stored a batch but whose answer never came (the
 * sender's engine killed meanwhile), and a corrupt answer. Afterwards every collector holds both
 * machines' records complete, in order, each n once except copies marked as redelivery, and
 * `airlock audit verify --from-export` passes on what they hold.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { approve, childResult, CLI, runCli, TEST_ENGINE_ENV, tempDir, waitFor, type CliResult } from '../helpers/env.js';
import { startCollector, type CollectedItem, type Collector } from '../helpers/collectors.js';

const OTLP_TOKEN = 'otlp-collector-token-4f1c9a';
const HOOK_TOKEN = 'webhook-token-8d2e77';

/** The CLI with something on its standard input (a secret for --secret-stdin). */
function cliWithInput(args: string[], env: NodeJS.ProcessEnv, input: string): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...TEST_ENGINE_ENV, ...env } });
  const result = childResult(child);
  child.stdin.end(input);
  return result;
}

interface Machine {
  name: string;
  home: string;
  env: NodeJS.ProcessEnv;
  manifest: string;
}

function machine(root: string, name: string): Machine {
  const home = path.join(root, name);
  fs.mkdirSync(home, { recursive: true });
  const manifest = path.join(root, `${name}-agent.yaml`);
  // A task that says a lot: each line is a record to forward.
  fs.writeFileSync(manifest, `name: chatty-${name}\ncommand: ["sh", "-c", "for i in $(seq 1 120); do echo \\"${name} line $i\\"; done"]\nnetwork: { mode: none }\n`);
  approve(manifest, home);
  return { name, home, env: { AIRLOCK_HOME: home, AIRLOCK_ENGINE_IDLE: '20s' }, manifest };
}

async function runTask(m: Machine): Promise<void> {
  const run = await runCli(['run', m.manifest, '--json'], { env: m.env });
  expect(run.code, run.stderr).toBe(0);
}

async function status(m: Machine): Promise<Array<{ name: string; state: string; lag: { records: number; ms: number }; acked?: { n: number }; lastError?: { message: string } }>> {
  const listed = await runCli(['audit', 'forward', 'status', '--json'], { env: m.env });
  expect(listed.code, listed.stderr).toBe(0);
  return listed.stdout.trim().split('\n').map((line) => JSON.parse(line));
}

async function flush(m: Machine): Promise<void> {
  const flushed = await runCli(['audit', 'forward', 'flush', '--timeout', '90s'], { env: m.env, timeoutMs: 150_000 });
  expect(flushed.code, `${m.name}: ${flushed.stdout}${flushed.stderr}`).toBe(0);
}

/** The machine's own trail: (n, hash) of every record, as `audit export` gives it. */
async function exported(m: Machine): Promise<Map<number, string>> {
  const file = path.join(path.dirname(m.home), `${m.name}-export.jsonl`);
  const done = await runCli(['audit', 'export', '--format', 'jsonl', '--output', file], { env: m.env });
  expect(done.code, done.stderr).toBe(0);
  return new Map(fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { n: number; hash: string }).map((r) => [r.n, r.hash]));
}

function trailId(m: Machine): string {
  return fs.readFileSync(path.join(m.home, 'audit', 'trail-id'), 'utf8').trim();
}

async function verifyExport(file: string): Promise<{ code: number | null; report: { ok: boolean; trails: Array<{ trailId: string; ok: boolean; first?: number; last?: number; records: number; duplicates: number; skipped: { ranges: number; records: number }; head?: { n: number } }> } }> {
  const verified = await runCli(['audit', 'verify', '--from-export', file, '--json']);
  return { code: verified.code, report: JSON.parse(verified.stdout) };
}

/** Every record of `trail` the collector holds, by n: how many copies, and whether each copy after the first is marked. */
function copiesByN(items: CollectedItem[], trail: string): Map<number, Array<{ hash: string; redelivery: boolean }>> {
  const byN = new Map<number, Array<{ hash: string; redelivery: boolean }>>();
  for (const item of items) {
    if (item.type !== 'record' || item.trail !== trail) continue;
    byN.set(item.n, [...(byN.get(item.n) ?? []), { hash: item.hash, redelivery: item.redelivery }]);
  }
  return byN;
}

const collectors: Collector[] = [];
const machines: Machine[] = [];

afterAll(async () => {
  for (const m of machines) await runCli(['engine', 'stop'], { env: m.env });
  for (const c of collectors) await c.stop();
});

describe('two machines forward to one collector', () => {
  it('which holds both trails complete and verifiable after an outage, a lost answer with its sender killed, and a corrupt answer', { timeout: 400_000 }, async () => {
    const root = tempDir();
    const otlp = await startCollector('otlp-http', { token: OTLP_TOKEN });
    const syslog = await startCollector('syslog-tls');
    const hook = await startCollector('webhook', { token: HOOK_TOKEN });
    collectors.push(otlp, syslog, hook);
    const a = machine(root, 'alpha');
    const b = machine(root, 'bravo');
    machines.push(a, b);

    // alpha: OTLP protobuf and syslog; bravo: OTLP JSON and a webhook that takes only task.* and net.* records.
    for (const [m, args, secret] of [
      [a, ['org', '--otlp', otlp.url, '--ca', otlp.caFile, '--secret-stdin'], OTLP_TOKEN],
      [a, ['siem', '--syslog', syslog.url, '--ca', syslog.caFile], ''],
      [b, ['org', '--otlp', otlp.url, '--encoding', 'json', '--ca', otlp.caFile, '--secret-stdin'], `${OTLP_TOKEN}\n`],
      [b, ['hook', '--webhook', hook.url, '--ca', hook.caFile, '--secret-stdin', '--kinds', 'task.*,net.*'], HOOK_TOKEN],
    ] as const) {
      const added = await cliWithInput(['audit', 'forward', 'add', ...args], m.env, secret);
      expect(added.code, added.stderr).toBe(0);
    }
    // The config file names the collectors, never a secret.
    for (const m of [a, b]) {
      const config = fs.readFileSync(path.join(m.home, 'forwarders.json'), 'utf8');
      expect(config).not.toContain(OTLP_TOKEN);
      expect(config).not.toContain(HOOK_TOKEN);
    }

    await Promise.all([runTask(a), runTask(b)]);
    await Promise.all([flush(a), flush(b)]);

    // A lost answer: the collector stores alpha's next batch but answers only after 60 s, and
    // alpha's engine is killed meanwhile. Its next engine sends that batch again, marked.
    await otlp.fault({ mode: 'slow', delayMs: 60_000 });
    const storedBefore = otlp.received.length;
    await runTask(a);
    await waitFor(async () => (otlp.received.length > storedBefore ? true : undefined), 'the collector to store a batch of alpha\'s', 60_000);
    const engine = await runCli(['engine', 'status', '--json'], { env: a.env });
    const pid = (JSON.parse(engine.stdout) as { pid: number }).pid;
    expect(Number.isSafeInteger(pid) && pid > 1, engine.stdout).toBe(true);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 'alpha\'s engine to die');

    // An outage: the OTLP collector is down; the syslog server resets every connection; the webhook
    // stores bravo's batch and cuts the connection before answering.
    await otlp.stop();
    await syslog.fault({ mode: 'status', status: 0 });
    await hook.fault({ mode: 'corrupt', how: 'cut' });
    await Promise.all([runTask(a), runTask(b)]);
    await waitFor(async () => {
      const lagging = (await status(a)).find((f) => f.name === 'org')!;
      return lagging.state === 'retrying' && lagging.lag.records > 0 && lagging.lag.ms > 0 ? lagging : undefined;
    }, 'alpha to report its lag to the collector that is down', 60_000);
    const bravo = await status(b);
    expect(bravo.find((f) => f.name === 'org')).toMatchObject({ state: 'retrying', lastError: { message: expect.stringMatching(/refused|ECONNREFUSED|connect/i) } });
    expect(bravo.find((f) => f.name === 'org')!.lag.records).toBeGreaterThan(100);
    // The tasks were not held back by any of it: they ran and ended (runTask asserted exit 0).

    await otlp.start();
    await otlp.fault({ mode: 'none' });
    await syslog.fault({ mode: 'none' });
    await hook.fault({ mode: 'none' });
    await Promise.all([flush(a), flush(b)]);
    for (const m of [a, b]) for (const f of await status(m)) expect(f, `${m.name}/${f.name}`).toMatchObject({ state: 'caught-up', lag: { records: 0, ms: 0 } });

    // The one collector holds both machines' trails, complete: every record of each, by n and hash,
    // as the machine's own `audit export` has it; each n once, except copies marked redelivery.
    const items = otlp.items();
    let marked = 0;
    for (const m of [a, b]) {
      const own = await exported(m);
      const held = copiesByN(items, trailId(m));
      expect([...held.keys()].sort((x, y) => x - y), m.name).toEqual([...own.keys()].sort((x, y) => x - y));
      for (const [n, copies] of held) {
        expect(copies.every((copy) => copy.hash === own.get(n)), `${m.name} record ${n}`).toBe(true);
        expect(copies.slice(1).every((copy) => copy.redelivery), `${m.name} record ${n}: only marked copies after the first`).toBe(true);
        marked += copies.length - 1;
      }
    }
    // alpha's batch stored before its engine was killed came again, marked.
    expect(marked).toBeGreaterThan(0);
    const fromOtlp = await verifyExport(otlp.file);
    expect(fromOtlp.code, JSON.stringify(fromOtlp.report)).toBe(0);
    expect(fromOtlp.report.trails.map((t) => t.trailId).sort()).toEqual([trailId(a), trailId(b)].sort());
    for (const trail of fromOtlp.report.trails) {
      expect(trail).toMatchObject({ ok: true, first: 1 });
      // A signed head covers the collector's holdings up to its last record.
      expect(trail.head?.n).toBe(trail.last);
    }

    // The syslog server (alpha, every record) and the webhook (bravo, filtered: the rest as
    // skipped ranges, and its cut batch sent again, marked) verify too.
    const fromSyslog = await verifyExport(syslog.file);
    expect(fromSyslog.code, JSON.stringify(fromSyslog.report)).toBe(0);
    expect(fromSyslog.report.trails).toEqual([expect.objectContaining({ trailId: trailId(a), ok: true, first: 1 })]);
    const fromHook = await verifyExport(hook.file);
    expect(fromHook.code, JSON.stringify(fromHook.report)).toBe(0);
    const hookTrail = fromHook.report.trails[0]!;
    expect(hookTrail).toMatchObject({ trailId: trailId(b), ok: true, first: 1 });
    expect(hookTrail.skipped.records).toBeGreaterThan(200);
    expect(hookTrail.duplicates).toBeGreaterThan(0);
    expect(hook.items().some((item) => item.type === 'record' && JSON.parse(item.line).kind === 'proc.stdout')).toBe(false);

    // A collector that lost a record (one line removed from what it holds) fails the check, naming it.
    const lines = fs.readFileSync(otlp.file, 'utf8').split('\n');
    const damaged = path.join(root, 'damaged.jsonl');
    const withRecords = lines.flatMap((line, i) => (line.includes('"airlock.record"') ? [i] : []));
    const lost = withRecords[Math.floor(withRecords.length / 2)];
    fs.writeFileSync(damaged, lines.filter((_, i) => i !== lost).join('\n'));
    const fromDamaged = await verifyExport(damaged);
    expect(fromDamaged.code).toBe(1);
  });
});
