// `npm run bench`: time from `run` to the agent's first instruction, and teardown, for Airlock
// (CLI and in-process core) beside a bare `docker run --rm` with the same image, hardening flags
// and workspace volume, interleaved in one run. Prints medians and ratios; never gates CI.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventBus } from '../main/core/audit/bus.js';
import { systemClock } from '../main/core/clock.js';
import { Engine } from '../main/core/engine/engine.js';
import { listTaskObjects } from '../main/core/engine/leftovers.js';
import { homeLayout } from '../main/core/home.js';
import { loadManifestFile } from '../main/core/policy/manifest.js';
import { TaskRunner } from '../main/core/tasks/runner.js';
import { AgentRegistry } from '../main/core/policy/registry.js';
import { resolveTaskSpec } from '../main/core/tasks/spec.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const IMAGE = 'airlock/agent-base:1';
// The agent's first instruction prints the wall clock in ms; so does its last.
const AGENT = ['sh', '-c', 'echo "first $(date +%s%3N)"; echo "last $(date +%s%3N)"'];

interface Sample { firstMs: number; teardownMs: number; internalTeardownMs?: number }

function stamp(text: string, marker: 'first' | 'last'): number {
  const match = new RegExp(`${marker} (\\d{13})`).exec(text);
  if (!match) throw new Error(`no "${marker}" timestamp in output:\n${text.slice(0, 2000)}`);
  return Number(match[1]);
}

function spawnTimed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ t0: number; end: number; out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ t0, end: Date.now(), out, code }));
  });
}

async function bareDockerRun(): Promise<Sample> {
  const r = await spawnTimed('docker', [
    'run', '--rm', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true', '--user', '10001:10001',
    '--tmpfs', '/tmp:rw,nosuid,nodev,size=256m,mode=1777', '--mount', 'type=volume,dst=/workspace', '--workdir', '/workspace',
    '--init', '--pids-limit', '256', '--memory', '512m', '--memory-swap', '512m', '--cpus', '1', '--network', 'none',
    '--ipc', 'private', '--log-driver', 'none', '--attach', 'stdout', '--attach', 'stderr', IMAGE, ...AGENT,
  ]);
  if (r.code !== 0) throw new Error(`docker run failed: ${r.out}`);
  return { firstMs: stamp(r.out, 'first') - r.t0, teardownMs: r.end - stamp(r.out, 'last') };
}

async function airlockCli(manifest: string, home: string): Promise<Sample> {
  const r = await spawnTimed(process.execPath, ['bin/airlock.cjs', 'run', manifest, '--json'], { ...process.env, AIRLOCK_HOME: home });
  if (r.code !== 0) throw new Error(`airlock run failed: ${r.out}`);
  const destroyed = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.kind === 'task.destroyed');
  return { firstMs: stamp(r.out, 'first') - r.t0, teardownMs: r.end - stamp(r.out, 'last'), internalTeardownMs: destroyed?.data.teardownMs };
}

async function airlockCore(runner: TaskRunner, bus: EventBus, spec: ReturnType<typeof resolveTaskSpec>): Promise<Sample> {
  let out = '';
  const off = bus.subscribe((e) => {
    if (e.kind === 'proc.stdout') out += `${String(e.data.line)}\n`;
  });
  const t0 = Date.now();
  const outcome = await runner.run(spec);
  const end = Date.now();
  off();
  if (outcome.exitCode !== 0) throw new Error('core run failed');
  return { firstMs: stamp(out, 'first') - t0, teardownMs: end - stamp(out, 'last') };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export async function benchStartup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const manifest = path.join(dir, 'bench.yaml');
  fs.writeFileSync(manifest, `name: bench\ncommand: ${JSON.stringify(AGENT)}\n`);
  const home = homeLayout(path.join(dir, 'home'));
  const engine = Engine.connect();
  const bus = new EventBus(systemClock);
  const runner = new TaskRunner({ engine, bus, clock: systemClock, home });
  const spec = resolveTaskSpec(loadManifestFile(manifest), {});
  new AgentRegistry(home.root, path.join(import.meta.dirname, '..', 'assets')).approve(loadManifestFile(manifest), 'bench');

  // Warm up caches (image layers, page cache, the CLI's compile cache) once for each.
  await bareDockerRun();
  await airlockCli(manifest, home.root);
  await airlockCore(runner, bus, spec);

  const bare: Sample[] = [];
  const cli: Sample[] = [];
  const core: Sample[] = [];
  let leftovers = 0;
  for (let i = 0; i < RUNS; i++) {
    bare.push(await bareDockerRun());
    cli.push(await airlockCli(manifest, home.root));
    core.push(await airlockCore(runner, bus, spec));
    leftovers += (await listTaskObjects(engine)).length;
    process.stderr.write(`\rstartup runs ${i + 1}/${RUNS}`);
  }
  process.stderr.write('\n');

  const row = (name: string, samples: Sample[]) => {
    const first = median(samples.map((s) => s.firstMs));
    const teardown = median(samples.map((s) => s.teardownMs));
    const internal = samples[0]?.internalTeardownMs !== undefined ? median(samples.map((s) => s.internalTeardownMs!)) : undefined;
    return { name, first, teardown, internal };
  };
  const rows = [row('docker run --rm (baseline)', bare), row('airlock run (CLI)', cli), row('TaskRunner.run (core, in-process)', core)];
  const base = rows[0]!;
  console.log(`\nStartup and teardown, median of ${RUNS} (same image, hardening flags and workspace volume)`);
  console.log('                                      to first instruction   ratio   last instruction → exit   ratio   sandbox removal');
  for (const r of rows) {
    console.log(`${r.name.padEnd(38)}${`${r.first.toFixed(0)} ms`.padStart(21)}${`${(r.first / base.first).toFixed(2)}x`.padStart(8)}${`${r.teardown.toFixed(0)} ms`.padStart(26)}${`${(r.teardown / base.teardown).toFixed(2)}x`.padStart(8)}${r.internal !== undefined ? `${r.internal.toFixed(0)} ms`.padStart(18) : ''}`);
  }
  console.log(`airlock-labelled objects left after the runs: ${leftovers}`);
}
