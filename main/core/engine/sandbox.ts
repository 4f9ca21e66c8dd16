import path from 'node:path';
import type Dockerode from 'dockerode';
import tar from 'tar-stream';
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
  readonly #extraVolumes: string[];

  private constructor(engine: Engine, container: Dockerode.Container, volume: string, extraVolumes: string[]) {
    this.#engine = engine;
    this.container = container;
    this.volume = volume;
    this.#extraVolumes = extraVolumes;
  }

  /**
   * Creates the workspace volume and the hardened container and seeds the workspace. If any step
   * fails, whatever was created is removed before the error propagates.
   */
  static async create(engine: Engine, plan: SandboxPlan, workspace: NodeJS.ReadableStream | undefined): Promise<Sandbox> {
    let container: Dockerode.Container | undefined;
    try {
      container = await engine.call((api) => api.createContainer(sandboxContainerOptions(plan)));
      const sandbox = new Sandbox(engine, container, plan.workspaceVolume, plan.certsVolume ? [plan.certsVolume] : []);
      // The engine extracts as root and keeps the owners and modes written in the archive.
      if (workspace) await container.putArchive(workspace, { path: plan.workdir, noOverwriteDirNonDir: '1' });
      return sandbox;
    } catch (error) {
      if (container) await container.remove({ force: true, v: true }).catch(() => undefined);
      for (const volume of [plan.workspaceVolume, ...(plan.certsVolume ? [plan.certsVolume] : [])]) {
        await engine.api.getVolume(volume).remove({ force: true }).catch(() => undefined);
      }
      throw error;
    }
  }

  /** Attach before start so not a byte of output is missed (with stdin when secrets go that way). */
  async attach(stdin = false): Promise<NodeJS.ReadWriteStream> {
    return this.container.attach({ stream: true, stdout: true, stderr: true, logs: false, ...(stdin ? { stdin: true, hijack: true } : {}) });
  }

  /** Adds the task's CA to the system bundle in the certs volume, and as a file of its own. */
  async trustCa(pem: string, bundlePath: string, caPath: string): Promise<void> {
    const existing = await this.archive(bundlePath);
    const bundle = existing ? await readSingleFile(existing) : '';
    const pack = tar.pack();
    const mtime = new Date();
    pack.entry({ name: path.posix.basename(bundlePath), mode: 0o644, uid: 0, gid: 0, mtime }, `${bundle.replace(/\n?$/, '\n')}${pem}`);
    pack.entry({ name: path.posix.basename(caPath), mode: 0o644, uid: 0, gid: 0, mtime }, pem);
    pack.finalize();
    await this.container.putArchive(pack as unknown as NodeJS.ReadableStream, { path: path.posix.dirname(bundlePath) });
  }

  async start(): Promise<void> {
    await this.container.start();
  }

  async wait(): Promise<ExitState> {
    await this.container.wait();
    const state = (await this.container.inspect()).State;
    return { exitCode: state.ExitCode, oomKilled: state.OOMKilled };
  }

  async pause(): Promise<void> {
    await this.container.pause();
  }

  async unpause(): Promise<void> {
    await this.container.unpause().catch(() => undefined); // not paused: nothing to do
  }

  async kill(): Promise<void> {
    await this.unpause(); // the engine refuses to kill a paused container
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

  /** Removes the container and its volumes; safe to call twice. */
  async destroy(): Promise<{ containers: number; volumes: number }> {
    const removed = { containers: 0, volumes: 0 };
    const volumes = [this.volume, ...(this.#extraVolumes)];
    try {
      await this.container.remove({ force: true, v: true });
      removed.containers = 1;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    for (const volume of volumes) {
      try {
        await this.#engine.api.getVolume(volume).remove({ force: true });
        removed.volumes += 1;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return removed;
  }
}

async function readSingleFile(archive: NodeJS.ReadableStream): Promise<string> {
  const extract = tar.extract();
  archive.pipe(extract as unknown as NodeJS.WritableStream);
  let text = '';
  for await (const entry of extract) {
    for await (const chunk of entry) text += (chunk as Buffer).toString();
  }
  return text;
}
