import { LABEL, isNotFound, type Engine } from './engine.js';

/** The engine objects labelled as one task's (its claim, until tasks/own-objects.ts vouches for it). */
export interface TaskObjects {
  task: string;
  agent: string;
  digest: string;
  owner: string | undefined;
  /** The agent's container and its sidecar (role `sidecar`), if they still exist. */
  containers: { id: string; name: string; image: string; state: string; status: string; created: number; role: string | undefined }[];
  volumes: string[];
  networks: string[];
  /** When the engine made the oldest of these objects (Unix seconds; undefined if it does not say). */
  created: number | undefined;
}

/**
 * Every engine object that carries an `airlock.task` label, grouped by that label. Labels are
 * anyone's claims: what Airlock can vouch for is sorted out by tasks/own-objects.ts.
 */

export async function listTaskObjects(engine: Engine): Promise<TaskObjects[]> {
  const filters = { label: [LABEL.task] };
  const [containers, volumes, networks] = await engine.call((api) => Promise.all([
    api.listContainers({ all: true, filters }),
    api.listVolumes({ filters }),
    api.listNetworks({ filters }),
  ]));
  const byTask = new Map<string, TaskObjects>();
  const entry = (labels: Record<string, string> | undefined): TaskObjects | undefined => {
    const task = labels?.[LABEL.task];
    if (!task) return undefined;
    let objects = byTask.get(task);
    if (!objects) {
      objects = { task, agent: labels[LABEL.agent] ?? '?', digest: labels[LABEL.digest] ?? '', owner: labels[LABEL.owner], containers: [], volumes: [], networks: [], created: undefined };
      byTask.set(task, objects);
    }
    return objects;
  };
  const made = (objects: TaskObjects | undefined, seconds: number) => {
    if (objects && Number.isFinite(seconds)) objects.created = Math.min(objects.created ?? seconds, seconds);
    return objects;
  };
  for (const c of containers) {
    made(entry(c.Labels), c.Created)?.containers.push({ id: c.Id, name: c.Names[0]?.replace(/^\//, '') ?? '', image: c.Image, state: c.State, status: c.Status, created: c.Created, role: c.Labels?.['airlock.role'] });
  }
  for (const v of volumes.Volumes ?? []) {
    made(entry(v.Labels ?? undefined), Date.parse((v as { CreatedAt?: string }).CreatedAt ?? '') / 1000)?.volumes.push(v.Name);
  }
  for (const n of networks) entry(n.Labels)?.networks.push(n.Id);
  return [...byTask.values()].sort((a, b) => a.task.localeCompare(b.task));
}

/** Removes a task's objects: containers first (they hold the volumes and networks), then the rest. */
export async function removeTaskObjects(engine: Engine, objects: TaskObjects): Promise<{ containers: number; volumes: number; networks: number }> {
  const removed = { containers: 0, volumes: 0, networks: 0 };
  // Gone, or going: a task's sidecar removes itself when it exits (409 "removal in progress").
  const ignoreGone = (error: unknown) => {
    if (!isNotFound(error) && (error as { statusCode?: number }).statusCode !== 409) throw error;
  };
  for (const c of objects.containers) {
    await engine.api.getContainer(c.id).remove({ force: true, v: true }).then(() => removed.containers++, ignoreGone);
  }
  // A container whose removal is under way (a sidecar's own auto-removal, another reaper's) still
  // holds its volumes, which would refuse to go (409): wait, bounded, until the engine has let go.
  await untilGone(engine, objects.containers.map((c) => c.id));
  for (const n of objects.networks) {
    await engine.api.getNetwork(n).remove().then(() => removed.networks++, ignoreGone);
  }
  for (const v of objects.volumes) {
    await engine.api.getVolume(v).remove({ force: true }).then(() => removed.volumes++, ignoreGone);
  }
  return removed;
}

/** How long removal waits for containers the engine is still removing. */
const REMOVAL_WAIT_MS = 10_000;

async function untilGone(engine: Engine, containers: string[]): Promise<void> {
  const deadline = Date.now() + REMOVAL_WAIT_MS;
  for (const id of containers) {
    while (Date.now() < deadline) {
      const gone = await engine.api.getContainer(id).inspect().then(() => false, (error: unknown) => isNotFound(error));
      if (gone) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The container the agent itself runs in (not its sidecar). */
export function agentContainer(objects: TaskObjects): TaskObjects['containers'][number] | undefined {
  return objects.containers.find((c) => c.role === undefined);
}

/** The names Airlock gives a task's engine objects (recorded in its `task.created` event). */
export function taskObjectNames(task: string): { container: string; sidecar: string; workspace: string; certs: string } {
  return { container: `airlock-${task}`, sidecar: `airlock-${task}-sidecar`, workspace: `airlock-${task}-workspace`, certs: `airlock-${task}-certs` };
}
