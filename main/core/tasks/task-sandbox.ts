import type { Engine } from '../engine/engine.js';
import { BASE_IMAGE } from '../images/images.js';
import type { taskObjectNames } from '../engine/leftovers.js';
import { imageVolumes, removeVolumes, Sandbox } from '../engine/sandbox.js';
import { taskBackend } from '../engine/task-backend.js';
import { TaskSidecar } from '../engine/task-sidecar.js';
import { orControlRefused, orImageMissing } from './engine-errors.js';
import type { PoolSlot } from './pool-slot.js';
import type { sidecarReporter } from './sidecar-events.js';
import type { TaskSpec } from './spec.js';
import { desktopCommand } from './task-desktop.js';
import type { TaskNetwork } from './task-network.js';
import type { Teardown } from './teardown.js';

export interface TaskSandboxOptions {
  engine: Engine;
  spec: TaskSpec;
  names: ReturnType<typeof taskObjectNames>;
  labels: Record<string, string>;
  assetsDir: string;
  network: TaskNetwork;
  report: ReturnType<typeof sidecarReporter>;
  /** The task's environment (a cold sandbox has it in its configuration; a pooled one gets it at launch). */
  env: Record<string, string>;
  /** The task trusts a CA of its own: its sandbox gets a certs volume. */
  certsVolume: boolean;
  secretsOnStdin: boolean;
  teardown: Teardown;
  made: { containers: number; volumes: number; engineObjects: boolean };
  /** A prepared sandbox of the warm pool this task claimed. */
  slot?: PoolSlot;
}

const SIDECAR_CONTROL = 'the task\'s sidecar (its fail-safe, namespaces and size-limited workspace)';

/**
 * A task's engine objects — volumes (removed last), the sidecar, the agent's container (removed
 * first) — each registered with the teardown as soon as it exists. A claimed pool slot has them
 * already: it is bound to the task (its relay to the task's gateway registration, its reports to
 * the task's events) and destroyed with it.
 */
export async function openTaskSandbox(options: TaskSandboxOptions): Promise<{ sidecar: TaskSidecar; sandbox: Sandbox }> {
  const { spec, names, labels, network, report, teardown, made, slot } = options;
  const backend = taskBackend(options.engine);
  made.engineObjects = true;
  const sidecarEvents = { ...(network.relay ? { onConnection: network.relay.onConnection } : {}), onStatus: report.status, onConnectionRefused: report.connectionsRefused };
  if (slot) {
    slot.bind(sidecarEvents);
    teardown.add('pooled sandbox', async () => {
      const removed = await slot.destroy();
      made.containers += removed.containers;
      made.volumes += removed.volumes;
    });
    return { sidecar: slot.sidecar, sandbox: slot.sandbox };
  }
  const workspace = { volume: names.workspace, sizeBytes: spec.limits.diskBytes };
  const certsVolume = options.certsVolume ? names.certs : undefined;
  teardown.add('volumes', async () => {
    made.volumes += await removeVolumes(backend, [workspace.volume, ...(certsVolume ? [certsVolume] : [])]);
  });
  // An image's own VOLUMEs get a tmpfs each (a 404 here is the missing image, said so).
  const volumesOfImage = await imageVolumes(backend, spec.image).catch(orImageMissing(spec.image, ''));
  const sidecar = await TaskSidecar.create(backend, {
    name: names.sidecar, labels, image: BASE_IMAGE, assetsDir: options.assetsDir, workspace, workdir: spec.workdir,
    ...(network.relay ? { proxy: { browser: network.relay.browser } } : {}), events: sidecarEvents,
  }).catch(orImageMissing(BASE_IMAGE, 'the task\'s sidecar')).catch(orControlRefused(SIDECAR_CONTROL));
  teardown.add('sidecar', async () => {
    made.containers += await sidecar.destroy();
  });
  const [started, created] = await Promise.allSettled([
    sidecar.start(),
    Sandbox.create(backend, {
      name: names.container, labels, image: spec.image, command: spec.display ? desktopCommand(spec.command, options.assetsDir) : spec.command, workdir: spec.workdir,
      env: options.env, display: spec.display !== undefined, ...(spec.project ? { cwd: spec.project.to } : {}),
      workspace, limits: spec.limits, sidecar: sidecar.container.id, ...(certsVolume ? { certsVolume } : {}), secretsOnStdin: options.secretsOnStdin, imageVolumes: volumesOfImage,
      ...(spec.terminal ? { terminal: spec.terminal } : {}),
    }),
  ]);
  if (created.status === 'fulfilled') {
    teardown.add('sandbox', async () => {
      made.containers += await created.value.destroy();
    });
  }
  if (started.status === 'rejected') orControlRefused(SIDECAR_CONTROL)(started.reason);
  if (created.status === 'rejected') {
    try {
      orImageMissing(spec.image, '')(created.reason);
    } catch (error) {
      orControlRefused('joining the sidecar\'s network and PID namespaces', /namespace|pid|container:/i)(error);
    }
  }
  return { sidecar, sandbox: (created as PromiseFulfilledResult<Sandbox>).value };
}
