import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { BackendContainer, ContainerState, ContainerStats, ExecRequest, ImageFacts, TaskBackend, TaskObjects } from './backend.js';
import { LABEL, isNotFound, type Engine } from './engine.js';
import { ROLE_LABEL, jobContainerOptions, sandboxContainerOptions, sidecarContainerOptions, type JobPlan, type SandboxPlan, type SidecarPlan } from './hardening.js';

/** How long removal waits for containers the engine is still removing. */
const REMOVAL_WAIT_MS = 10_000;

/** Tasks on a Docker-compatible engine (Docker, Podman): the plans become hardened containers (hardening.ts). */
export class DockerBackend implements TaskBackend {
  readonly kind = 'docker';
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  async createSidecar(plan: SidecarPlan): Promise<BackendContainer> {
    return new DockerContainer(await this.#engine.call((api) => api.createContainer(sidecarContainerOptions(plan))));
  }

  async createSandbox(plan: SandboxPlan): Promise<BackendContainer> {
    return new DockerContainer(await this.#engine.call((api) => api.createContainer(sandboxContainerOptions(plan))));
  }

  async createJob(plan: JobPlan): Promise<BackendContainer> {
    return new DockerContainer(await this.#engine.call((api) => api.createContainer(jobContainerOptions(plan))));
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.#engine.call((api) => api.createVolume({ Name: name, Labels: labels }));
  }

  container(idOrName: string): BackendContainer {
    return new DockerContainer(this.#engine.api.getContainer(idOrName));
  }

  async image(ref: string): Promise<ImageFacts> {
    const info = await this.#engine.call((api) => api.getImage(ref).inspect());
    const config = info.Config as { Cmd?: string[] | null; Entrypoint?: string[] | string | null; Volumes?: Record<string, unknown> | null } | undefined;
    const entrypoint = config?.Entrypoint;
    return {
      id: info.Id,
      command: config?.Cmd ?? [],
      entrypoint: typeof entrypoint === 'string' ? (entrypoint ? [entrypoint] : []) : entrypoint ?? [],
      volumes: Object.keys(config?.Volumes ?? {}),
    };
  }

  async removeVolume(name: string): Promise<boolean> {
    try {
      await this.#engine.api.getVolume(name).remove({ force: true });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async listTaskObjects(): Promise<TaskObjects[]> {
    const filters = { label: [LABEL.task] };
    const [containers, volumes, networks] = await this.#engine.call((api) => Promise.all([
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
      made(entry(c.Labels), c.Created)?.containers.push({ id: c.Id, name: c.Names[0]?.replace(/^\//, '') ?? '', image: c.Image, state: c.State, status: c.Status, created: c.Created, role: c.Labels?.[ROLE_LABEL] });
    }
    for (const v of volumes.Volumes ?? []) {
      made(entry(v.Labels ?? undefined), Date.parse((v as { CreatedAt?: string }).CreatedAt ?? '') / 1000)?.volumes.push(v.Name);
    }
    for (const n of networks) entry(n.Labels)?.networks.push(n.Id);
    return [...byTask.values()].sort((a, b) => a.task.localeCompare(b.task));
  }

  /** Containers first (they hold the volumes and networks), then the rest. */
  async removeTaskObjects(objects: TaskObjects): Promise<{ containers: number; volumes: number; networks: number }> {
    const api = this.#engine.api;
    const removed = { containers: 0, volumes: 0, networks: 0 };
    // Gone, or going: a task's sidecar removes itself when it exits (409 "removal in progress").
    const ignoreGone = (error: unknown) => {
      if (!isNotFound(error) && (error as { statusCode?: number }).statusCode !== 409) throw error;
    };
    for (const c of objects.containers) {
      await api.getContainer(c.id).remove({ force: true, v: true }).then(() => removed.containers++, ignoreGone);
    }
    // A container whose removal is under way (a sidecar's own auto-removal, another reaper's) still
    // holds its volumes, which would refuse to go (409): wait, bounded, until the engine has let go.
    await this.#untilGone(objects.containers.map((c) => c.id));
    for (const n of objects.networks) {
      await api.getNetwork(n).remove().then(() => removed.networks++, ignoreGone);
    }
    for (const v of objects.volumes) {
      await api.getVolume(v).remove({ force: true }).then(() => removed.volumes++, ignoreGone);
    }
    return removed;
  }

  async #untilGone(containers: string[]): Promise<void> {
    const deadline = Date.now() + REMOVAL_WAIT_MS;
    for (const id of containers) {
      while (Date.now() < deadline) {
        const gone = await this.#engine.api.getContainer(id).inspect().then(() => false, (error: unknown) => isNotFound(error));
        if (gone) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
}

/** A container of a Docker-compatible engine, as a task uses it. */
export class DockerContainer implements BackendContainer {
  readonly #container: Dockerode.Container;

  constructor(container: Dockerode.Container) {
    this.#container = container;
  }

  get id(): string {
    return this.#container.id;
  }

  async start(): Promise<void> {
    await this.#container.start();
  }

  attach(options: { stdin: boolean }): Promise<NodeJS.ReadWriteStream> {
    return this.#container.attach({ stream: true, stdout: true, stderr: true, logs: false, ...(options.stdin ? { stdin: true, hijack: true } : {}) });
  }

  async exec(request: ExecRequest): Promise<Duplex> {
    const exec = await this.#container.exec({
      Cmd: request.command, Env: request.env, WorkingDir: request.workdir, User: request.user,
      AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false,
    });
    return exec.start({ hijack: true, stdin: true });
  }

  async copyIn(folder: string, archive: NodeJS.ReadableStream, options: { noOverwriteDirNonDir?: boolean } = {}): Promise<void> {
    await this.#container.putArchive(archive, { path: folder, ...(options.noOverwriteDirNonDir ? { noOverwriteDirNonDir: '1' } : {}) });
  }

  async copyOut(path: string): Promise<NodeJS.ReadableStream | undefined> {
    try {
      return await this.#container.getArchive({ path });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async resize(size: { cols: number; rows: number }): Promise<void> {
    await this.#container.resize({ h: size.rows, w: size.cols });
  }

  async pause(): Promise<void> {
    await this.#container.pause();
  }

  async unpause(): Promise<void> {
    await this.#container.unpause();
  }

  async kill(signal?: string): Promise<void> {
    await this.#container.kill(signal ? { signal } : {});
  }

  async wait(until: 'stopped' | 'removed' = 'stopped'): Promise<void> {
    await this.#container.wait(until === 'removed' ? { condition: 'removed' } : {});
  }

  async state(): Promise<ContainerState> {
    const state = (await this.#container.inspect()).State;
    return { running: state.Running, paused: state.Paused, exitCode: state.ExitCode, oomKilled: state.OOMKilled };
  }

  async stats(): Promise<ContainerStats> {
    // one-shot: the engine answers at once instead of waiting a second for its own second reading.
    return (await this.#container.stats({ stream: false, 'one-shot': true } as never)) as unknown as ContainerStats;
  }

  async remove(options: { volumes: boolean }): Promise<void> {
    await this.#container.remove({ force: true, ...(options.volumes ? { v: true } : {}) });
  }
}
