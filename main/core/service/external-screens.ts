import type { Engine } from '../engine/engine.js';
import { taskBackend } from '../engine/task-backend.js';
import { ownTaskObjects } from '../tasks/own-objects.js';
import { currentOwner, isOwnerAlive } from '../tasks/owner.js';
import type { ScreenRegistry } from '../desktop/screen-registry.js';
import { ScreenSession } from '../desktop/screen-session.js';
import type { LiveScreen, ScreenFrame } from '../desktop/types.js';

const VIEW_ONLY = 'the task runs in another Airlock process (the CLI), which records its log; control is for tasks this app runs';

/**
 * The screens of display tasks that another Airlock process runs on the same engine (`airlock run`
 * from a terminal, the desktop demo): the app can watch them too. A screen session needs nothing
 * but the task's container, so one is opened here, view-only — `screen.control` events belong in
 * the log of the process that runs the task — and only for tasks a live Airlock process on this
 * machine runs (its owner label), not leftovers or another host's — and only a container the audit
 * trail says Airlock made for that task (labels are claims: a container forged to carry a running
 * task's labels is never shown as its screen). It closes when
 * the task's container goes, or when nobody has watched it for a while.
 */
export class ExternalScreens {
  readonly #engine: () => Engine;
  readonly #trailDir: string;
  readonly #registry: ScreenRegistry;
  readonly #idleMs: number;
  readonly #opening = new Map<string, Promise<void>>();

  constructor(options: { engine: () => Engine; trailDir: string; registry: ScreenRegistry; idleMs?: number }) {
    this.#engine = options.engine;
    this.#trailDir = options.trailDir;
    this.#registry = options.registry;
    this.#idleMs = options.idleMs ?? 15_000;
  }

  /** Makes a running task's screen watchable, when this process does not run it but its container is up. */
  attach(task: string): Promise<void> {
    if (this.#registry.has(task)) return Promise.resolve();
    let opening = this.#opening.get(task);
    if (!opening) {
      opening = this.#open(task).finally(() => this.#opening.delete(task));
      this.#opening.set(task, opening);
    }
    return opening;
  }

  async #open(task: string): Promise<void> {
    const engine = this.#engine();
    const vouched = (await ownTaskObjects(engine, this.#trailDir)).tasks.find((t) => t.task === task);
    // The agent's own running container (not its sidecar), of a display task another live Airlock
    // process here runs: a task of this process is registered by its own runner (with control).
    const self = currentOwner();
    const ranElsewhere = vouched !== undefined && vouched.owner !== self && isOwnerAlive(vouched.owner);
    const container = ranElsewhere ? vouched.containers.find((c) => c.role === undefined && c.state === 'running') : undefined;
    if (!container || !vouched?.display || this.#registry.has(task)) return; // not running (the caller says so), or already here
    // No screen larger than the task's recorded display: its X server is the agent's, and may lie.
    const session = await ScreenSession.open(taskBackend(engine).container(container.id), { task, maxSize: vouched.display });
    if (this.#registry.has(task)) {
      session.close();
      return;
    }
    const agent = { name: vouched.agent, digest: vouched.digest };
    let remove = (): void => undefined;
    const close = (): void => {
      remove();
      session.close();
    };
    remove = this.#registry.add(task, agent, idleClosing(session, this.#idleMs, close), { viewOnly: VIEW_ONLY });
    void session.ended.then(close);
  }
}

/** The session, closed once nobody has watched it for `idleMs`. */
function idleClosing(session: ScreenSession, idleMs: number, close: () => void): LiveScreen {
  let watchers = 0;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    clearTimeout(idle);
    idle = setTimeout(close, idleMs);
    idle.unref();
  };
  armIdle();
  return {
    get width() {
      return session.width;
    },
    get height() {
      return session.height;
    },
    watch(listener: (frame: ScreenFrame) => void) {
      watchers += 1;
      clearTimeout(idle);
      const stop = session.watch(listener);
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        stop();
        watchers -= 1;
        if (watchers === 0) armIdle();
      };
    },
    capture: () => session.capture(),
    lastChangeAt: () => session.lastChangeAt(),
    input: (event) => session.input(event),
    close: () => {
      clearTimeout(idle);
      close();
    },
  };
}
