import { queryAuditTrail } from '../audit/query.js';
import type { Engine } from '../engine/engine.js';
import { listTaskObjects, type TaskObjects } from '../engine/leftovers.js';

/** An engine object that carries Airlock's labels but is not one Airlock can vouch for. */
export interface ForgedClaim {
  kind: 'container' | 'volume' | 'network';
  /** Container: its short id; volume: its name; network: its id. */
  id: string;
  name: string;
  image: string;
  /** The task its `airlock.task` label names. */
  claimedTask: string;
  reason: string;
}

/** A task's objects that Airlock made, and what its `task.created` record says of its screen. */
export interface VouchedTask extends TaskObjects {
  /** A display task's screen size, as recorded: the largest screen its live view may show. */
  display?: { width: number; height: number };
}

export interface OwnObjects {
  /** Each task's objects that Airlock made, as its audit trail records them. */
  tasks: VouchedTask[];
  /** Sandboxes of the warm pool that no task has claimed (`pool.prepared`, no `task.created`): no task yet. */
  slots: VouchedTask[];
  forged: ForgedClaim[];
}

/** What a task's records say Airlock made for it. */
interface Recorded {
  owner: string | undefined;
  names: Set<string>;
  /** Full container ids from `task.started` (undefined: the task never started). */
  containers: Set<string> | undefined;
  /** Its `task.destroyed` is recorded: its sandbox was taken down. */
  destroyed: boolean;
  display: VouchedTask['display'];
  /** A task that took a pool slot: its objects' labels name the pool, its record the agent. */
  agent: { name: string; digest: string } | undefined;
  /** Only a `pool.prepared` record: a slot of the warm pool no task has claimed. */
  unclaimedSlot: boolean;
}

/** How far before an object's creation time its task's `task.created` record may be (clock skew, a slow start). */
const RECORD_BEFORE_OBJECT_MS = 24 * 3_600_000;

/**
 * Airlock's labels (`airlock.*`) are claims anyone with the engine can make. An object is Airlock's
 * only when the audit trail says so: its task has a `task.created` record with the same owner
 * (host:pid:start), and the object is one that record names (a container's or volume's name), and
 * — once the task started — a container is one of the ids its `task.started` record holds (the
 * engine picks ids; nobody can choose one). Networks are not made by Airlock any more: one with its
 * labels is a claim; so is a volume of a task whose sandbox was taken down. Everything else is
 * returned as forged, with the reason.
 */
export async function ownTaskObjects(engine: Engine, trailDir: string): Promise<OwnObjects> {
  const claimed = await listTaskObjects(engine);
  const records = await recordedTasks(trailDir, claimed);
  const tasks: VouchedTask[] = [];
  const slots: VouchedTask[] = [];
  const forged: ForgedClaim[] = [];
  for (const objects of claimed) {
    const recorded = records.get(objects.task);
    const whyNot = (what: { name: string; id?: string }): string | undefined => {
      if (!recorded) return `no task ${objects.task} in the audit trail`;
      if (recorded.owner === undefined || recorded.owner !== objects.owner) return `its owner label is not the process the audit trail says ran ${objects.task}`;
      if (!recorded.names.has(what.name)) return `the audit trail names no object ${what.name} for ${objects.task}`;
      if (what.id !== undefined && recorded.containers && !recorded.containers.has(what.id)) return `container ${what.id.slice(0, 12)} is not one the audit trail says ${objects.task} ran`;
      // A volume has no id the engine picks: once the task was taken down, its name proves nothing.
      if (what.id === undefined && recorded.destroyed) return `the audit trail says ${objects.task} was taken down`;
      return undefined;
    };
    const own: VouchedTask = {
      ...objects, containers: [], volumes: [], networks: [], ...(recorded?.display ? { display: recorded.display } : {}),
      ...(recorded?.agent ? { agent: recorded.agent.name, digest: recorded.agent.digest } : {}),
    };
    for (const c of objects.containers) {
      const reason = whyNot({ name: c.name, id: c.id });
      if (reason) forged.push({ kind: 'container', id: c.id.slice(0, 12), name: c.name, image: c.image, claimedTask: objects.task, reason });
      else own.containers.push(c);
    }
    for (const volume of objects.volumes) {
      const reason = whyNot({ name: volume });
      if (reason) forged.push({ kind: 'volume', id: volume, name: volume, image: '', claimedTask: objects.task, reason });
      else own.volumes.push(volume);
    }
    for (const network of objects.networks) {
      forged.push({ kind: 'network', id: network.slice(0, 12), name: network, image: '', claimedTask: objects.task, reason: 'Airlock makes no networks' });
    }
    if (own.containers.length + own.volumes.length > 0) (recorded?.unclaimedSlot ? slots : tasks).push(own);
  }
  return { tasks, slots, forged };
}

/**
 * The `task.created`, `task.started` and `task.destroyed` records of the claimed tasks, read newest first and only
 * as far back as the oldest claimed object's creation allows (so a forged label with an old-looking
 * task id cannot make every start of Airlock read the whole trail). An unreadable trail vouches for nothing.
 */
async function recordedTasks(trailDir: string, claimed: TaskObjects[]): Promise<Map<string, Recorded>> {
  // Only claims with a container or volume can be vouched for (Airlock makes no networks), and only
  // the creation times the engine gives bound the read: a claim without one never makes it read the whole trail.
  const vouchable = claimed.filter((c) => c.containers.length + c.volumes.length > 0);
  const wanted = new Set(vouchable.map((c) => c.task));
  const found = new Map<string, Recorded>();
  if (wanted.size === 0) return found;
  const times = vouchable.map((c) => c.created).filter((t): t is number => t !== undefined && t > 0);
  const since = new Date((times.length > 0 ? Math.min(...times) * 1000 : Date.now()) - RECORD_BEFORE_OBJECT_MS).toISOString();
  const started = new Map<string, Set<string>>();
  const destroyed = new Set<string>();
  try {
    for await (const record of queryAuditTrail(trailDir, { kinds: ['task.created', 'task.started', 'task.destroyed'], text: '"kind":"task.', order: 'desc', ...(since ? { since } : {}) })) {
      if (!wanted.has(record.task) || found.has(record.task)) continue;
      if (record.kind === 'task.destroyed') {
        destroyed.add(record.task);
        continue;
      }
      if (record.kind === 'task.started') {
        const ids = record.data.containers;
        if (Array.isArray(ids)) started.set(record.task, new Set(ids.filter((id): id is string => typeof id === 'string')));
        continue;
      }
      const objects = record.data.objects as { containers?: unknown; volumes?: unknown } | undefined;
      const names = [objects?.containers, objects?.volumes].flatMap((list) => (Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : []));
      const display = record.data.display as { width?: unknown; height?: unknown } | null | undefined;
      found.set(record.task, {
        owner: typeof record.data.owner === 'string' ? record.data.owner : undefined, names: new Set(names), containers: started.get(record.task), destroyed: destroyed.has(record.task),
        display: typeof display?.width === 'number' && typeof display.height === 'number' ? { width: display.width, height: display.height } : undefined,
        agent: record.data.pool !== undefined ? record.agent : undefined, unclaimedSlot: false,
      });
      if (found.size === wanted.size) break;
    }
    // What is left may be slots of the warm pool no task claimed: their pool.prepared records vouch for them.
    if (found.size < wanted.size) await recordedSlots(trailDir, since, wanted, found);
  } catch {
    // No trail, or one that cannot be read: nothing is vouched for (fail closed: nothing is removed).
  }
  return found;
}

/** The `pool.prepared` and `pool.discarded` records of claimed objects that no task record names. */
async function recordedSlots(trailDir: string, since: string, wanted: Set<string>, found: Map<string, Recorded>): Promise<void> {
  const discarded = new Set<string>();
  for await (const record of queryAuditTrail(trailDir, { kinds: ['pool.prepared', 'pool.discarded'], text: '"kind":"pool.', order: 'desc', since })) {
    if (!wanted.has(record.task) || found.has(record.task)) continue;
    if (record.kind === 'pool.discarded') {
      discarded.add(record.task);
      continue;
    }
    const objects = record.data.objects as { containers?: unknown; volumes?: unknown } | undefined;
    const names = [objects?.containers, objects?.volumes].flatMap((list) => (Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : []));
    found.set(record.task, {
      owner: typeof record.data.owner === 'string' ? record.data.owner : undefined, names: new Set(names), containers: undefined,
      destroyed: discarded.has(record.task), display: undefined, agent: undefined, unclaimedSlot: true,
    });
  }
}
