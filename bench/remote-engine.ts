// `npm run bench -- remote`: time to the agent's first instruction on a remote engine reached over
// TCP with TLS client certificates (a second dockerd in a network namespace of its own, as the
// tests start it: test/helpers/remote-engine.ts), beside `docker run --rm` of the same image with
// the same hardening flags to the same engine, interleaved in one run: Airlock with its engine
// running and the pool empty, and with a warm pool (kept on the remote engine); then the same
// engine over ssh:// (an sshd in its namespace), docker and Airlock with its pool empty. Both
// clocks are this machine's, so the agent's timestamps compare with the host's. Never gates CI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifestFile } from '../main/core/policy/manifest.js';
import { AgentRegistry } from '../main/core/policy/registry.js';
import { startRemoteEngine } from '../test/helpers/remote-engine.js';
import { startSshd } from '../test/helpers/sshd.js';
import { POOL_AGENT } from '../main/core/tasks/pool-slot.js';
import { AGENT, airlockRun, bareDockerRun, cli, engineEnv, poolReady, printRows, type Sample } from './startup.js';
import { percentile } from './stats.js';

const RUNS = Math.max(10, Number(process.env.BENCH_RUNS ?? 20));

type Row = 'bare' | 'engine' | 'warm' | 'sshBare' | 'sshEngine';

export async function benchRemoteEngine(): Promise<void> {
  const started = Date.now();
  // The same images as the tests: they share its cache (keyed by image ids).
  const remote = await startRemoteEngine({ images: ['airlock/agent-base:1', 'airlock/agent-desktop:1'] });
  console.log(`\nRemote engine ${remote.host} (TLS) up in ${((Date.now() - started) / 1000).toFixed(1)} s, images loaded in ${remote.loadSeconds.toFixed(1)} s`);
  // ssh:// to the same engine: an sshd in its namespace whose forced command dials it over TLS.
  const sshd = await startSshd({ listen: remote.address, prefix: ['ip', 'netns', 'exec', remote.netns], forcedCommand: remote.dialStdio });
  const sshEnv = { DOCKER_HOST: sshd.url, PATH: `${sshd.bin}:${process.env.PATH}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-remote-'));
  const manifest = path.join(dir, 'bench.yaml');
  fs.writeFileSync(manifest, `name: bench\ncommand: ${JSON.stringify(AGENT)}\n`);
  const envs: Record<'engine' | 'warm' | 'sshEngine', NodeJS.ProcessEnv> = {
    engine: { ...engineEnv(path.join(dir, 'engine'), 0), ...remote.env },
    warm: { ...engineEnv(path.join(dir, 'warm'), 1), ...remote.env },
    sshEngine: { ...engineEnv(path.join(dir, 'ssh'), 0), ...sshEnv },
  };
  for (const env of Object.values(envs)) new AgentRegistry(env.AIRLOCK_HOME!, path.join(import.meta.dirname, '..', 'assets')).approve(loadManifestFile(manifest), 'bench');
  const rounds: [Row, () => Promise<Sample>][] = [
    ['bare', () => bareDockerRun({ ...process.env, ...remote.env })],
    ['engine', () => airlockRun(manifest, envs.engine)],
    ['warm', async () => (await poolReady(envs.warm), airlockRun(manifest, envs.warm))],
    ['sshBare', () => bareDockerRun({ ...process.env, ...sshEnv })],
    ['sshEngine', () => airlockRun(manifest, envs.sshEngine)],
  ];
  try {
    // Warm up once each (page cache, the CLI's compile cache, the engines, ssh's shared session).
    for (const [, round] of rounds) await round();
    const samples: Record<Row, Sample[]> = { bare: [], engine: [], warm: [], sshBare: [], sshEngine: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const [row, round] of rounds) samples[row].push(await round());
      process.stderr.write(`\rremote runs ${i + 1}/${RUNS}`);
    }
    process.stderr.write('\n');
    // Nothing of a finished task is left (the warm engine's next pooled sandbox is not a task's).
    const left = remote.docker(['ps', '-a', '--filter', 'label=airlock.task', '--format', '{{.Label "airlock.agent"}}']).split('\n')
      .filter((agent) => agent && agent !== POOL_AGENT.name).length;

    console.log(`Remote engine, ${RUNS} runs each, interleaved (same image, hardening flags and workspace volume); ratios to docker over the same transport`);
    printRows([
      ['docker -H tcp://… run --rm (TLS baseline)', samples.bare],
      ['airlock run over TLS, pool empty', samples.engine],
      ['airlock run over TLS, warm pool', samples.warm],
    ], percentile(samples.bare.map((s) => s.firstMs), 50));
    printRows([
      ['docker -H ssh://… run --rm (ssh baseline)', samples.sshBare],
      ['airlock run over ssh, pool empty', samples.sshEngine],
    ], percentile(samples.sshBare.map((s) => s.firstMs), 50));
    console.log(`task containers left on the remote engine after the runs: ${left}`);
  } finally {
    for (const env of Object.values(envs)) await cli(['engine', 'stop'], env).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    await sshd.stop();
    fs.rmSync(sshd.dir, { recursive: true, force: true });
    await remote.stop();
  }
}
