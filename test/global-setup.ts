import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Dockerode from 'dockerode';
import { resolveEngineEndpoint } from '../main/core/engine/connection.js';
import { isOwnerAlive } from '../main/core/tasks/owner.js';
import { engineProcesses, TEST_RUN_VARIABLE } from './helpers/engine.js';

/**
 * Builds the CLI the tests spawn, and after the whole suite checks that nothing labelled by
 * Airlock is left on the engine (every test must clean up after itself, as users' runs do).
 */
export async function setup(): Promise<void> {
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
  // Marks every process this run starts (test workers, CLIs, the engines they start).
  process.env[TEST_RUN_VARIABLE] = testRun;
  // Engines the tests start keep no warm pool unless a test asks for one (AIRLOCK_POOL_SIZE): a
  // prepared sandbox is two containers for the engine's whole life.
  process.env.AIRLOCK_POOL_SIZE ??= '0';
  // Every engine a test starts (through the CLI, a script, the app's harness) leaves soon after
  // its last client and task: teardown waits that long, and a longer-lived one is a leak.
  process.env.AIRLOCK_ENGINE_IDLE ??= ENGINE_IDLE;
}

const ENGINE_IDLE = '5s';

const testRun = randomUUID();

export async function teardown(): Promise<void> {
  // Engines left running by the tests: each leaves by itself once idle (ENGINE_IDLE); one still
  // there well after that has a client or a task nobody ended.
  const deadline = Date.now() + 12_000;
  let engines = engineProcesses({ variable: TEST_RUN_VARIABLE, value: testRun });
  while (engines.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    engines = engineProcesses({ variable: TEST_RUN_VARIABLE, value: testRun });
  }
  for (const pid of engines) process.kill(pid, 'SIGTERM');
  if (engines.length > 0) throw new Error(`Airlock engine processes started by the tests were still running (now sent SIGTERM): ${engines.join(', ')}`);
  const docker = new Dockerode(resolveEngineEndpoint().options);
  try {
    await docker.ping();
  } catch {
    return; // unit-only runs on a machine without an engine have nothing to check
  }
  const filters = { label: ['airlock.task'] };
  const [containers, volumes, networks] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listVolumes({ filters }),
    docker.listNetworks({ filters }),
  ]);
  // Left behind = nobody alive will remove it. (Objects of a live Airlock process — another run
  // on the same engine — are that process's to clean up.)
  const orphaned = (labels: Record<string, string> | null | undefined) => !isOwnerAlive(labels?.['airlock.owner']);
  const left = [
    ...containers.filter((c) => orphaned(c.Labels)).map((c) => `container ${c.Names.join(',')}`),
    ...(volumes.Volumes ?? []).filter((v) => orphaned(v.Labels)).map((v) => `volume ${v.Name}`),
    ...networks.filter((n) => orphaned(n.Labels)).map((n) => `network ${n.Name}`),
  ];
  if (left.length > 0) throw new Error(`Airlock-labelled objects left on the engine after the suite:\n  ${left.join('\n  ')}`);
}
