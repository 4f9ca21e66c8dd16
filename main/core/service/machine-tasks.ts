/**
 * Tasks of any Airlock process on this Docker engine, as their containers show them (the ones the
 * audit trail vouches for): what `airlock ps` lists, and how a task this core does not run — an
 * in-process CLI's, another engine's — is stopped or resumed: a request in AIRLOCK_HOME its owner
 * acts on, its containers killed, and its objects removed when its owner is gone.
 */
import type { Engine } from '../engine/engine.js';
import { agentContainer, removeTaskObjects } from '../engine/leftovers.js';
import { taskBackend } from '../engine/task-backend.js';
import { AirlockError } from '../errors.js';
import type { HomeLayout } from '../home.js';
import { ownTaskObjects, type VouchedTask } from '../tasks/own-objects.js';
import { isOwnerAlive } from '../tasks/owner.js';
import type { ReapOutcome } from '../tasks/reaper.js';
import { requestResume, requestStop } from '../tasks/stop.js';
import type { GcResult, RunningTask } from './types.js';

export interface MachineTasksDeps {
  engine: () => Engine;
  home: HomeLayout;
  /** Removes leftovers of dead Airlock processes (the composition root's reaper); settles, never rejects. */
  reap: () => Promise<ReapOutcome>;
}

export class MachineTasks {
  readonly #deps: MachineTasksDeps;

  constructor(deps: MachineTasksDeps) {
    this.#deps = deps;
  }

  /** Every running task on the engine that Airlock made (after reaping what dead processes left). */
  async list(): Promise<RunningTask[]> {
    const engine = this.#deps.engine();
    // The reaper has just sorted the tasks out; should it have failed, they are read again (with the error).
    const tasks = (await this.#deps.reap()).remaining ?? (await ownTaskObjects(engine, this.#deps.home.audit)).tasks;
    return tasks.map((t) => {
      const container = agentContainer(t);
      return { task: t.task, agent: t.agent, state: container?.state ?? 'gone', ...(container ? { created: container.created } : {}), ...(t.owner ? { owner: t.owner } : {}) };
    });
  }

  /** Stops a task another process runs: its owner tears it down; when its owner is gone, it is removed here. */
  async stop(task: string): Promise<void> {
    const objects = await this.#find(task);
    requestStop(this.#deps.home, task);
    const engine = this.#deps.engine();
    for (const c of objects.containers) {
      const container = taskBackend(engine).container(c.id);
      await container.unpause().catch(() => undefined); // a frozen task is paused; the engine will not kill it so
      await container.kill().catch(() => undefined);
    }
    if (!isOwnerAlive(objects.owner)) await removeTaskObjects(engine, objects);
  }

  /** Asks the process running a frozen task to resume it (its grants stay revoked). */
  async resume(task: string): Promise<void> {
    const objects = await this.#find(task);
    if (!objects.containers.some((c) => c.state === 'paused')) throw new AirlockError('bad_argument', `${task} is not frozen`, 'only a task frozen by a violation can be resumed');
    if (!isOwnerAlive(objects.owner)) throw new AirlockError('not_found', `the Airlock process that ran ${task} is gone`, `remove it with \`airlock stop ${task}\``);
    requestResume(this.#deps.home, task);
  }

  /** Removes what crashed or killed Airlock processes left; an unreachable engine is an error, not "nothing to clean up". */
  async gc(): Promise<GcResult> {
    await this.#deps.engine().info();
    const { reaped, leftAlone } = await this.#deps.reap();
    return {
      reaped: reaped.map((r) => ({ task: r.task, agent: r.agent, removed: { ...r.removed } })),
      leftAlone: leftAlone.map((c) => ({ kind: c.kind, name: c.name, claimedTask: c.claimedTask, reason: c.reason })),
    };
  }

  async #find(task: string): Promise<VouchedTask> {
    const objects = (await ownTaskObjects(this.#deps.engine(), this.#deps.home.audit)).tasks.find((t) => t.task === task);
    if (!objects) throw new AirlockError('not_found', `no running task ${task}`, 'see `airlock ps` for running tasks');
    return objects;
  }
}
