// `npm run bench -- remote`: time to the agent's first instruction on a remote engine reached over
// TCP with TLS client certificates (a second dockerd in a network namespace of its own, as the
// tests start it: test/helpers/remote-engine.ts), beside `docker run --rm` of the same image with
// the same hardening flags to the same engine, interleaved in one run: Airlock with its engine
// running and the pool empty, and with a warm pool (kept on the remote engine). Both clocks are
// this machine's, so the agent's timestamps compare with the host's. Never gates CI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifestFile } from '../main/core/policy/manifest.js';
import { AgentRegistry } from '../main/core/policy/registry.js';
import { startRemoteEngine } from '../test/helpers/remote-engine.js';
import { POOL_AGENT } from '../main/core/tasks/pool-slot.js';
import { AGENT, airlockRun, bareDockerRun, cli, engineEnv, poolReady, printRows, type Sample } from './startup.js';
import { percentile } from './stats.js';

const RUNS = Math.max(10, Number(process.env.BENCH_RUNS ?? 20));

export async function benchRemoteEngine(): Promise<void> {
  const started = Date.now();
  // The same images as the tests: they share its cache (keyed by image ids).
  const remote = await startRemoteEngine({ images: ['airlock/agent-base:1', 'airlock/agent-desktop:1'] });
  console.log(`\nRemote engine ${remote.host} (TLS) up in ${((Date.now() - started) / 1000).toFixed(1)} s, images loaded in ${remote.loadSeconds.toFixed(1)} s`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-remote-'));
  const manifest = path.join(dir, 'bench.yaml');
  fs.writeFileSync(manifest, `name: bench\ncommand: ${JSON.stringify(AGENT)}\n`);
  const dockerEnv = { ...process.env, ...remote.env };
  const envs: Record<'engine' | 'warm', NodeJS.ProcessEnv> = {
    engine: { ...engineEnv(path.join(dir, 'engine'), 0), ...remote.env },
    warm: { ...engineEnv(path.join(dir, 'warm'), 1), ...remote.env },
  };
  for (const env of Object.values(envs)) new AgentRegistry(env.AIRLOCK_HOME!, path.join(import.meta.dirname, '..', 'assets')).approve(loadManifestFile(manifest), 'bench');
  try {
    // Warm up once each (page cache, the CLI's compile cache, the engines).
    await bareDockerRun(dockerEnv);
    await airlockRun(manifest, envs.engine);
    await poolReady(envs.warm);
    await airlockRun(manifest, envs.warm);

    const samples: Record<'bare' | 'engine' | 'warm', Sample[]> = { bare: [], engine: [], warm: [] };
    for (let i = 0; i < RUNS; i++) {
      samples.bare.push(await bareDockerRun(dockerEnv));
      samples.engine.push(await airlockRun(manifest, envs.engine));
      await poolReady(envs.warm);
      samples.warm.push(await airlockRun(manifest, envs.warm));
      process.stderr.write(`\rremote runs ${i + 1}/${RUNS}`);
    }
    process.stderr.write('\n');
    // Nothing of a finished task is left (the warm engine's next pooled sandbox is not a task's).
    const left = remote.docker(['ps', '-a', '--filter', 'label=airlock.task', '--format', '{{.Label "airlock.agent"}}']).split('\n')
      .filter((agent) => agent && agent !== POOL_AGENT.name).length;

    const base = percentile(samples.bare.map((s) => s.firstMs), 50);
    console.log(`Remote engine over TLS, ${RUNS} runs each, interleaved (same image, hardening flags and workspace volume)`);
    const rows: [string, Sample[]][] = [
      ['docker -H tcp://… run --rm (baseline)', samples.bare],
      ['airlock run, engine running, pool empty', samples.engine],
      ['airlock run, warm pool', samples.warm],
    ];
    printRows(rows, base);
    console.log(`task containers left on the remote engine after the runs: ${left}`);
  } finally {
    for (const env of Object.values(envs)) await cli(['engine', 'stop'], env).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    await remote.stop();
  }
}
