import { execFileSync } from 'node:child_process';
import Dockerode from 'dockerode';
import { resolveEngineEndpoint } from '../main/core/engine/connection.js';

/**
 * Builds the CLI the tests spawn, and after the whole suite checks that nothing labelled by
 * Airlock is left on the engine (every test must clean up after itself, as users' runs do).
 */
export async function setup(): Promise<void> {
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
}

export async function teardown(): Promise<void> {
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
  const left = [
    ...containers.map((c) => `container ${c.Names.join(',')}`),
    ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`),
    ...networks.map((n) => `network ${n.Name}`),
  ];
  if (left.length > 0) throw new Error(`Airlock-labelled objects left on the engine after the suite:\n  ${left.join('\n  ')}`);
}
