import type { EventBus } from '../audit/bus.js';
import type { Engine } from '../engine/engine.js';
import { listTaskObjects, removeTaskObjects } from '../engine/leftovers.js';
import { isOwnedHere, isOwnerAlive } from './owner.js';

export interface ReapedTask {
  task: string;
  agent: string;
  removed: { containers: number; volumes: number; networks: number };
}

/**
 * Removes what crashed or killed Airlock processes left on the engine: every labelled object of a
 * task whose owning process on this machine is gone. Records a `task.aborted` event for each.
 * Runs at every start of the CLI and the app, and as `airlock gc`.
 */
export async function reapLeftovers(
  engine: Engine,
  bus: EventBus,
  isAlive: (owner: string | undefined) => boolean = isOwnerAlive,
): Promise<ReapedTask[]> {
  const reaped: ReapedTask[] = [];
  for (const objects of await listTaskObjects(engine)) {
    if (objects.owner !== undefined && !isOwnedHere(objects.owner)) continue;
    if (isAlive(objects.owner)) continue;
    const removed = await removeTaskObjects(engine, objects);
    bus.emit({
      task: objects.task,
      agent: { name: objects.agent, digest: objects.digest },
      actor: 'airlock',
      kind: 'task.aborted',
      data: { reason: 'the Airlock process that ran this task is gone; its leftovers were removed', owner: objects.owner ?? null, removed },
    });
    bus.release(objects.task);
    reaped.push({ task: objects.task, agent: objects.agent, removed });
  }
  return reaped;
}
