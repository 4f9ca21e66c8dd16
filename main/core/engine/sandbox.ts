import type Dockerode from 'dockerode';
import { isNotFound, type Engine } from './engine.js';
import { sandboxContainerOptions, type SandboxPlan } from './hardening.js';

export interface ExitState {
  exitCode: number;
  oomKilled: boolean;
}

/** The engine objects of one task: its container and its workspace volume. */
export class Sandbox {
  readonly container: Dockerode.Container;
  readonly volume: string;
  readonly #engine: Engine;

  private constructor(engine: Engine, container: Dockerode.Container, volume: string) {
    this.#engine = engine;
    this.container = container;
    this.volume = volume;
  }

  /**
   * Creates the workspace volume and the hardened container and seeds the workspace. If any step
   * fails, whatever was created is removed before the error propagates.
   */
  static async create(engine: Engine, plan: SandboxPlan, workspace: NodeJS.ReadableStream | undefined): Promise<Sandbox> {
    let container: Dockerode.Container | undefined;
    try {
      container = await engine.call((api) => api.createContainer(sandboxContainerOptions(plan)));
      const sandbox = new Sandbox(engine, container, plan.workspaceVolume);
      // The engine extracts as root and keeps the owners and modes written in the archive.
      if (workspace) await container.putArchive(workspace, { path: plan.workdir, noOverwriteDirNonDir: '1' });
      return sandbox;
    } catch (error) {
      if (container) await container.remove({ force: true, v: true }).catch(() => undefined);
      await engine.api.getVolume(plan.workspaceVolume).remove({ force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** Attach before start so not a byte of output is missed. */
  async attach(): Promise<NodeJS.ReadWriteStream> {
    return this.container.attach({ stream: true, stdout: true, stderr: true, logs: false });
  }

  async start(): Promise<void> {
    await this.container.start();
  }

  async wait(): Promise<ExitState> {
    await this.container.wait();
    const state = (await this.container.inspect()).State;
    return { exitCode: state.ExitCode, oomKilled: state.OOMKilled };
  }

  async kill(): Promise<void> {
    await this.container.kill({ signal: 'SIGKILL' }).catch((error: unknown) => {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error; // gone, or not running: nothing to kill
    });
  }

  async archive(path: string): Promise<NodeJS.ReadableStream | undefined> {
    try {
      return await this.container.getArchive({ path });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Removes the container and the workspace volume; safe to call twice. */
  async destroy(): Promise<{ containers: number; volumes: number }> {
    const removed = { containers: 0, volumes: 0 };
    try {
      await this.container.remove({ force: true, v: true });
      removed.containers = 1;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await this.#engine.api.getVolume(this.volume).remove({ force: true });
      removed.volumes = 1;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return removed;
  }
}
