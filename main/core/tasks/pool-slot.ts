import type { EventBus } from '../audit/bus.js';
import type { Engine } from '../engine/engine.js';
import { sandboxLabels } from '../engine/hardening.js';
import { taskObjectNames } from '../engine/leftovers.js';
import { removeVolumes, Sandbox } from '../engine/sandbox.js';
import { taskBackend } from '../engine/task-backend.js';
import { TaskSidecar, type SidecarEvents } from '../engine/task-sidecar.js';
import { Teardown } from './teardown.js';
import type { TaskSpec } from './spec.js';

/** What every sandbox of the pool is made for: the commonest task (the base image, default limits, no display). */
export interface PoolShape {
  image: string;
  workdir: string;
  limits: TaskSpec['limits'];
}

/** Who the pool's records name as the agent until a task claims a slot: no agent yet. */
export const POOL_AGENT = { name: 'airlock', digest: '' } as const;

/**
 * One pristine sandbox of the warm pool, prepared under the id of the task that will claim it (so
 * its labels and names are that task's): its sidecar started with its lifeline held, the agent's
 * container started with only POOL_LAUNCHER waiting on stdin, an empty workspace, a certs volume
 * with the image's own bundle. It holds nothing of any task: no grant, input, secret, placeholder,
 * proxy credential or environment of one. Used by one task at most, then destroyed with it.
 */
export interface PoolSlot {
  readonly task: string;
  readonly owner: string;
  readonly preparedAt: number;
  readonly shape: PoolShape;
  readonly sidecar: TaskSidecar;
  readonly sandbox: Sandbox;
  /** The agent's stdin (the launcher reads the task from it) and output, attached before it started. */
  readonly attached: NodeJS.ReadWriteStream;
  /** The image's own command, for a task whose manifest gives none. */
  readonly imageCommand: string[];
  /** Whether a task with this spec can take the slot as it is. */
  fits(spec: TaskSpec): boolean;
  /**
   * Whether the image's name still points to the image the slot was made from (it may have been
   * rebuilt or pulled since): a task never runs an image older than the one it names.
   */
  imageCurrent(): Promise<boolean>;
  /** Hands the sidecar's reports and the agent's connections to the task that claimed the slot. */
  bind(events: SidecarEvents): void;
  /** Hands the command and its environment to the waiting launcher, which execs it. */
  launch(command: string[] | undefined, env: Record<string, string>): void;
  /** Removes its containers and volumes, returning how many; a second call waits for the first and counts nothing. */
  destroy(): Promise<{ containers: number; volumes: number }>;
}

export interface PrepareSlotOptions {
  engine: Engine;
  bus: EventBus;
  task: string;
  owner: string;
  now: number;
  shape: PoolShape;
  assetsDir: string;
}

/**
 * Makes one slot. `pool.prepared` is recorded first, naming the objects and the owner (as
 * `task.created` does for a task), so that whatever is left of the slot if this process dies is
 * vouched for by the trail and reaped. On any failure what was made is removed, and it throws.
 */
export async function prepareSlot(options: PrepareSlotOptions): Promise<PoolSlot> {
  const { bus, task, owner, shape } = options;
  const backend = taskBackend(options.engine);
  const names = taskObjectNames(task);
  bus.emit({
    task, agent: POOL_AGENT, actor: 'airlock', kind: 'pool.prepared',
    data: { owner, image: shape.image, workdir: shape.workdir, limits: shape.limits, objects: { containers: [names.container, names.sidecar], volumes: [names.workspace, names.certs] } },
  });
  const labels = sandboxLabels(task, POOL_AGENT, owner);
  const workspace = { volume: names.workspace, sizeBytes: shape.limits.diskBytes };
  const teardown = new Teardown();
  teardown.add('volumes', async () => void (removed.volumes += await removeVolumes(backend, [names.workspace, names.certs])));
  const removed = { containers: 0, volumes: 0 };
  let bound: SidecarEvents = {};
  try {
    const image = await backend.image(shape.image);
    const noEntrypoint = image.entrypoint.length === 0;
    const sidecar = await TaskSidecar.create(backend, {
      name: names.sidecar, labels, image: shape.image, assetsDir: options.assetsDir, workspace, workdir: shape.workdir, proxy: { browser: false },
      events: {
        // Until a task with a network claims the slot (and for one without), a connection goes nowhere.
        onConnection: (stream, port) => (bound.onConnection ? bound.onConnection(stream, port) : stream.destroy()),
        onStatus: (status) => bound.onStatus?.(status),
        onConnectionRefused: (open) => bound.onConnectionRefused?.(open),
      },
    });
    teardown.add('sidecar', async () => void (removed.containers += await sidecar.destroy()));
    await sidecar.start();
    const sandbox = await Sandbox.create(backend, {
      name: names.container, labels, image: shape.image, command: undefined, launcher: true, workdir: shape.workdir, env: {},
      workspace, limits: shape.limits, sidecar: sidecar.container.id, certsVolume: names.certs, imageVolumes: image.volumes,
    });
    teardown.add('sandbox', async () => void (removed.containers += await sandbox.destroy()));
    const attached = await sandbox.attach(true);
    // Nobody reads it until a task claims the slot: a broken stream (the container removed from outside) must not throw.
    attached.on('error', () => undefined);
    teardown.add('agent stream', () => (attached as unknown as { destroy?: () => void }).destroy?.());
    await sandbox.start();
    let destroyed: Promise<{ containers: number; volumes: number }> | undefined;
    return {
      task, owner, preparedAt: options.now, shape, sidecar, sandbox, attached,
      imageCommand: image.command,
      // An ENTRYPOINT would wrap the launcher, not the task's command: such an image is never pooled.
      fits: (spec) => noEntrypoint && spec.display === undefined && spec.terminal === undefined && spec.project === undefined && spec.image === shape.image && spec.workdir === shape.workdir
        && spec.limits.cpus === shape.limits.cpus && spec.limits.memoryBytes === shape.limits.memoryBytes
        && spec.limits.pids === shape.limits.pids && spec.limits.diskBytes === shape.limits.diskBytes,
      imageCurrent: () => backend.image(shape.image).then((now) => now.id === image.id, () => false),
      bind: (events) => (bound = events),
      launch: (command, env) => attached.end(launchMessage(command ?? [], env)),
      destroy: () => {
        if (destroyed) return destroyed.then(() => ({ containers: 0, volumes: 0 }));
        destroyed = teardown.run().then(() => ({ ...removed }));
        return destroyed;
      },
    };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}

/** What POOL_LAUNCHER reads: NAME=base64 lines, an empty line, base64 argument lines, an empty line. */
export function launchMessage(command: string[], env: Record<string, string>): string {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  return [...Object.entries(env).map(([name, value]) => `${name}=${base64(value)}`), '', ...command.map(base64), ''].map((line) => `${line}\n`).join('');
}
