import type { EventBus } from '../audit/bus.js';
import type { Engine } from '../engine/engine.js';
import { removeTaskObjects } from '../engine/leftovers.js';
import { ownTaskObjects, type ForgedClaim, type VouchedTask } from './own-objects.js';
import { isOwnedHere, isOwnerAlive } from './owner.js';

export interface ReapedTask {
  task: string;
  agent: string;
  removed: { containers: number; volumes: number; networks: number };
}

export interface ReapOutcome {
  reaped: ReapedTask[];
  /** Objects with Airlock's labels that Airlock did not make: left alone (see `airlock agents ls --shadow`). */
  leftAlone: ForgedClaim[];
  /** The tasks Airlock made that are still there (their process lives): what `ps` lists, without reading it all again. */
  remaining?: VouchedTask[];
}

/**
 * Removes what crashed or killed Airlock processes left on the engine: the objects of a task that
 * Airlock made (its audit trail in `trailDir` says so, see own-objects.ts) and whose owning
 * process on this machine is gone. Records a `task.aborted` event for each; an object that only
 * carries Airlock's labels is never removed, and is recorded (`engine.forged`) as left alone.
 * Runs at every start of the CLI and the app, and as `airlock gc`.
 */
export async function reapLeftovers(
  engine: Engine,
  bus: EventBus,
  trailDir: string,
  isAlive: (owner: string | undefined) => boolean = isOwnerAlive,
): Promise<ReapOutcome> {
  const { tasks, slots, forged } = await ownTaskObjects(engine, trailDir);
  const reaped: ReapedTask[] = [];
  const remaining: VouchedTask[] = [];
  const slotIds = new Set(slots.map((s) => s.task));
  for (const objects of [...tasks, ...slots]) {
    if ((objects.owner !== undefined && !isOwnedHere(objects.owner)) || isAlive(objects.owner)) {
      if (!slotIds.has(objects.task)) remaining.push(objects); // an unclaimed pool slot is no task
      continue;
    }
    const removed = await removeTaskObjects(engine, objects);
    if (slotIds.has(objects.task)) {
      bus.emit({
        task: objects.task, agent: { name: objects.agent, digest: objects.digest }, actor: 'airlock', kind: 'pool.discarded',
        data: { reason: 'the Airlock process that prepared it is gone; its leftovers were removed', owner: objects.owner ?? null, removed },
      });
      bus.release(objects.task);
      reaped.push({ task: objects.task, agent: objects.agent, removed });
      continue;
    }
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
  for (const claim of forged) {
    bus.emit({
      task: '-', agent: { name: 'airlock', digest: '' }, actor: 'airlock', kind: 'engine.forged',
      data: { object: claim.kind, id: claim.id, name: claim.name, image: claim.image, claimedTask: claim.claimedTask, reason: claim.reason, action: 'left alone' },
    });
  }
  return { reaped, leftAlone: forged, remaining };
}
