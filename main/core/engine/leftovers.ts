import type { TaskObjects } from './backend.js';
import type { Engine } from './engine.js';
import { taskBackend } from './task-backend.js';

export type { TaskObjects } from './backend.js';

/**
 * Every engine object that carries an `airlock.task` label, grouped by that label. Labels are
 * anyone's claims: what Airlock can vouch for is sorted out by tasks/own-objects.ts.
 */
export function listTaskObjects(engine: Engine): Promise<TaskObjects[]> {
  return taskBackend(engine).listTaskObjects();
}

/** Removes a task's objects: containers first (they hold the volumes and networks), then the rest. */
export function removeTaskObjects(engine: Engine, objects: TaskObjects): Promise<{ containers: number; volumes: number; networks: number }> {
  return taskBackend(engine).removeTaskObjects(objects);
}

/** The container the agent itself runs in (not its sidecar). */
export function agentContainer(objects: TaskObjects): TaskObjects['containers'][number] | undefined {
  return objects.containers.find((c) => c.role === undefined);
}

/** The names Airlock gives a task's engine objects (recorded in its `task.created` event). */
export function taskObjectNames(task: string): { container: string; sidecar: string; workspace: string; certs: string } {
  return { container: `airlock-${task}`, sidecar: `airlock-${task}-sidecar`, workspace: `airlock-${task}-workspace`, certs: `airlock-${task}-certs` };
}
