// `npm run bench -- pool`: time from asking for a run to the agent's first instruction, for a
// cold TaskRunner start (it makes its sandbox) and a pooled one (it takes a prepared sandbox from
// the warm pool), interleaved in one process. The agent's first instruction prints the host-shared
// clock (`date +%s%N`); the time the run was asked for is subtracted. Prints median and p99.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findAssetsDir } from '../main/core/assets.js';
import { EventBus } from '../main/core/audit/bus.js';
import { systemClock } from '../main/core/clock.js';
import { Engine } from '../main/core/engine/engine.js';
import { listTaskObjects } from '../main/core/engine/leftovers.js';
import { homeLayout } from '../main/core/home.js';
import { loadManifestFile } from '../main/core/policy/manifest.js';
import { WarmPool } from '../main/core/tasks/pool.js';
import { TaskRunner } from '../main/core/tasks/runner.js';
import { resolveTaskSpec, type TaskSpec } from '../main/core/tasks/spec.js';
import { percentile } from './stats.js';

const RUNS = Math.max(20, Number(process.env.BENCH_RUNS ?? 20));
const AGENT = ['sh', '-c', 'echo "first $(date +%s%N)"'];

async function firstInstructionMs(runner: TaskRunner, bus: EventBus, spec: TaskSpec): Promise<{ ms: number; pooled: boolean }> {
  let first: number | undefined;
  let pooled = false;
  const off = bus.subscribe((e) => {
    const match = e.kind === 'proc.stdout' ? /^first (\d+)$/.exec(String(e.data.line)) : null;
    if (match) first = Number(BigInt(match[1]!) / 1000n) / 1000; // ns → ms, keeping µs
    if (e.kind === 'task.created' && e.data.pool !== undefined) pooled = true;
  });
  const asked = performance.timeOrigin + performance.now();
  const outcome = await runner.run(spec);
  off();
  if (outcome.exitCode !== 0 || first === undefined) throw new Error(`the bench task failed (${outcome.status})`);
  return { ms: first - asked, pooled };
}

export async function benchPool(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-pool-'));
  const manifest = path.join(dir, 'bench.yaml');
  fs.writeFileSync(manifest, `name: bench\ncommand: ${JSON.stringify(AGENT)}\n`);
  const spec = resolveTaskSpec(loadManifestFile(manifest), {});
  const home = homeLayout(path.join(dir, 'home'));
  const engine = Engine.connect();
  const bus = new EventBus(systemClock);
  const pool = new WarmPool({ engine: () => engine, bus, clock: systemClock, assetsDir: findAssetsDir(), audit: () => undefined }, { size: 1 });
  const cold = new TaskRunner({ engine, bus, clock: systemClock, home });
  const pooled = new TaskRunner({ engine, bus, clock: systemClock, home, pool });
  const ready = async () => {
    pool.fill();
    await pool.settled();
    if (pool.state().ready !== 1) throw new Error('the pool could not prepare a sandbox');
  };
  try {
    await ready();
    await firstInstructionMs(cold, bus, spec); // warm caches once for each
    await firstInstructionMs(pooled, bus, spec);
    const coldMs: number[] = [];
    const pooledMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      coldMs.push((await firstInstructionMs(cold, bus, spec)).ms);
      await ready(); // refilling is not what is measured
      const run = await firstInstructionMs(pooled, bus, spec);
      if (!run.pooled) throw new Error('the pooled run did not take the prepared sandbox');
      pooledMs.push(run.ms);
      process.stderr.write(`\rpool runs ${i + 1}/${RUNS}`);
    }
    process.stderr.write('\n');
    console.log(`\nTo the agent's first instruction, ${RUNS} runs each (base image, default limits, network none)`);
    console.log('                               median      p99');
    for (const [name, xs] of [['TaskRunner.run, cold', coldMs], ['TaskRunner.run, warm pool', pooledMs]] as const) {
      console.log(`${name.padEnd(30)} ${percentile(xs, 50).toFixed(1).padStart(6)} ms ${percentile(xs, 99).toFixed(1).padStart(6)} ms`);
    }
    console.log(`pooled is ${(percentile(coldMs, 50) / percentile(pooledMs, 50)).toFixed(2)}x faster than cold (medians)`);
  } finally {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const left = (await listTaskObjects(engine)).filter((t) => t.agent === 'bench' || t.agent === 'airlock').length;
  if (left > 0) console.log(`warning: ${left} task(s) left objects on the engine`);
}
