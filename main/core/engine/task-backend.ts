import type { TaskBackend } from './backend.js';
import { DockerBackend } from './docker-backend.js';
import type { Engine } from './engine.js';

const backends = new WeakMap<Engine, TaskBackend>();

/**
 * The backend that runs tasks on this engine: one per Engine. Every engine Airlock reaches today
 * speaks Docker's API; another kind of backend would be chosen here (docs/kubernetes.md).
 */
export function taskBackend(engine: Engine): TaskBackend {
  let backend = backends.get(engine);
  if (!backend) {
    backend = new DockerBackend(engine);
    backends.set(engine, backend);
  }
  return backend;
}
