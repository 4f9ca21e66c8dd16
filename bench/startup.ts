// `npm run bench -- startup`: time from `airlock run` to the agent's first instruction, and from
// its last instruction to the command's exit, beside a bare `docker run --rm` with the same image,
// hardening flags and workspace volume, interleaved in one run: Airlock cold (no engine running:
// the run starts one), with the engine running and its pool empty, and with a warm pool. Prints the
// median and p99 of each and their ratios to docker run; never gates CI.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../main/core/engine/engine.js';
import { listTaskObjects } from '../main/core/engine/leftovers.js';
import { loadManifestFile } from '../main/core/policy/manifest.js';
import { AgentRegistry } from '../main/core/policy/registry.js';
import { POOL_AGENT } from '../main/core/tasks/pool-slot.js';
import { percentile } from './stats.js';

const RUNS = Math.max(20, Number(process.env.BENCH_RUNS ?? 20));
const IMAGE = 'airlock/agent-base:1';
const CLI = path.join(import.meta.dirname, '..', 'bin', 'airlock.cjs');
// The agent's first instruction prints the wall clock in ms; so does its last.
export const AGENT = ['sh', '-c', 'echo "first $(date +%s%3N)"; echo "last $(date +%s%3N)"'];

export interface Sample { firstMs: number; teardownMs: number }

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

/** `docker run --rm` with Airlock's hardening flags, to the engine `env` names (DOCKER_HOST…). */
export async function bareDockerRun(env: NodeJS.ProcessEnv = process.env): Promise<Sample> {
  const r = await spawnTimed('docker', [
    'run', '--rm', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true', '--user', '10001:10001',
    '--tmpfs', '/tmp:rw,nosuid,nodev,size=256m,mode=1777', '--mount', 'type=volume,dst=/workspace', '--workdir', '/workspace',
    '--init', '--pids-limit', '256', '--memory', '512m', '--memory-swap', '512m', '--cpus', '1', '--network', 'none',
    '--ipc', 'private', '--log-driver', 'none', '--attach', 'stdout', '--attach', 'stderr', IMAGE, ...AGENT,
  ], env);
  if (r.code !== 0) throw new Error(`docker run failed: ${r.out}`);
  return { firstMs: stamp(r.out, 'first') - r.t0, teardownMs: r.end - stamp(r.out, 'last') };
}

/** One home per engine configuration: an engine serves one AIRLOCK_HOME. */
export function engineEnv(home: string, poolSize: number): NodeJS.ProcessEnv {
  return { ...process.env, AIRLOCK_HOME: home, AIRLOCK_POOL_SIZE: String(poolSize), AIRLOCK_ENGINE_IDLE: '10m', AIRLOCK_ENGINE: '' };
}

export async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await spawnTimed(process.execPath, [CLI, ...args], env);
  if (r.code !== 0) throw new Error(`airlock ${args.join(' ')} failed (${r.code}): ${r.out}`);
  return r.out;
}

export async function airlockRun(manifest: string, env: NodeJS.ProcessEnv): Promise<Sample> {
  const r = await spawnTimed(process.execPath, [CLI, 'run', manifest, '--json'], env);
  if (r.code !== 0) throw new Error(`airlock run failed: ${r.out}`);
  return { firstMs: stamp(r.out, 'first') - r.t0, teardownMs: r.end - stamp(r.out, 'last') };
}

/** Waits until the engine's pool holds a ready sandbox (a warm run takes one). */
export async function poolReady(env: NodeJS.ProcessEnv): Promise<void> {
  await cli(['engine', 'start'], env); // nothing to do when it runs
  for (let i = 0; i < 600; i++) {
    const status = JSON.parse(await cli(['engine', 'status', '--json'], env)) as { pool?: { ready?: number } };
    if ((status.pool?.ready ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the warm pool never became ready');
}

/** One line per row: median and p99 to the first instruction, ratio to `base`, and teardown. */
export function printRows(rows: [string, Sample[]][], base: number): void {
  console.log('                                         to first instruction: median    p99   ratio   last instruction → exit: median    p99');
  for (const [name, list] of rows) {
    const first = list.map((s) => s.firstMs);
    const teardown = list.map((s) => s.teardownMs);
    const med = percentile(first, 50);
    console.log(`${name.padEnd(42)}${`${med.toFixed(0)} ms`.padStart(28)}${`${percentile(first, 99).toFixed(0)} ms`.padStart(8)}${`${(med / base).toFixed(2)}x`.padStart(8)}${`${percentile(teardown, 50).toFixed(0)} ms`.padStart(34)}${`${percentile(teardown, 99).toFixed(0)} ms`.padStart(8)}`);
  }
}

export async function benchStartup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-'));
  const manifest = path.join(dir, 'bench.yaml');
  fs.writeFileSync(manifest, `name: bench\ncommand: ${JSON.stringify(AGENT)}\n`);
  const homes = { cold: path.join(dir, 'cold'), engine: path.join(dir, 'engine'), warm: path.join(dir, 'warm') };
  // Cold is what a user gets by default: the engine it starts keeps a pool of one (filled after the run is under way).
  const envs = { cold: engineEnv(homes.cold, 1), engine: engineEnv(homes.engine, 0), warm: engineEnv(homes.warm, 1) };
  for (const home of Object.values(homes)) new AgentRegistry(home, path.join(import.meta.dirname, '..', 'assets')).approve(loadManifestFile(manifest), 'bench');
  const stopEngines = async () => {
    for (const env of Object.values(envs)) await cli(['engine', 'stop'], env).catch(() => undefined);
  };
  try {
    // Warm up caches (image layers, page cache, the CLI's compile cache) once for each.
    await bareDockerRun();
    await airlockRun(manifest, envs.cold);
    await airlockRun(manifest, envs.engine);
    await poolReady(envs.warm);
    await airlockRun(manifest, envs.warm);

    const samples: Record<'bare' | 'cold' | 'engine' | 'warm', Sample[]> = { bare: [], cold: [], engine: [], warm: [] };
    let leftovers = 0;
    const engine = Engine.connect();
    for (let i = 0; i < RUNS; i++) {
      samples.bare.push(await bareDockerRun());
      await cli(['engine', 'stop'], envs.cold);
      samples.cold.push(await airlockRun(manifest, envs.cold));
      samples.engine.push(await airlockRun(manifest, envs.engine));
      await poolReady(envs.warm);
      samples.warm.push(await airlockRun(manifest, envs.warm));
      // Nothing of a finished task is left (the warm engine's next pooled sandbox is not a task's).
      leftovers += (await listTaskObjects(engine)).filter((o) => o.agent !== POOL_AGENT.name).length;
      process.stderr.write(`\rstartup runs ${i + 1}/${RUNS}`);
    }
    process.stderr.write('\n');

    const base = percentile(samples.bare.map((s) => s.firstMs), 50);
    console.log(`\nStartup and teardown, ${RUNS} runs each, interleaved (same image, hardening flags and workspace volume)`);
    const rows: [string, Sample[]][] = [
      ['docker run --rm (baseline)', samples.bare],
      ['airlock run, cold (starts the engine)', samples.cold],
      ['airlock run, engine running, pool empty', samples.engine],
      ['airlock run, warm pool', samples.warm],
    ];
    printRows(rows, base);
    console.log(`task objects left after the runs: ${leftovers}`);
  } finally {
    await stopEngines();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
