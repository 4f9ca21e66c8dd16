import path from 'node:path';
import tar from 'tar-stream';
import type { BackendContainer, TaskBackend } from './backend.js';
import { isNotFound } from './engine.js';
import type { SandboxPlan } from './hardening.js';

export interface ExitState {
  exitCode: number;
  oomKilled: boolean;
}

/** The agent's container of one task. (Its volumes outlive it until the task's sidecar is gone: see removeVolumes.) */
export class Sandbox {
  readonly container: BackendContainer;

  private constructor(container: BackendContainer) {
    this.container = container;
  }

  /** Creates the hardened container (not started). */
  static async create(backend: TaskBackend, plan: SandboxPlan): Promise<Sandbox> {
    return new Sandbox(await backend.createSandbox(plan));
  }

  /** Seeds the workspace (the engine extracts as root and keeps the owners and modes written in the archive). */
  async seed(workdir: string, workspace: NodeJS.ReadableStream): Promise<void> {
    await this.container.copyIn(workdir, workspace, { noOverwriteDirNonDir: true });
  }

  /** Attach before start so not a byte of output is missed (with stdin when secrets go that way, or a person types: with a TTY, raw bytes). */
  async attach(stdin = false): Promise<NodeJS.ReadWriteStream> {
    return this.container.attach({ stdin });
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
    await this.container.copyIn(path.posix.dirname(bundlePath), pack as unknown as NodeJS.ReadableStream);
  }

  /** A TTY sandbox's terminal size (the program in it gets SIGWINCH). */
  async resize(size: { cols: number; rows: number }): Promise<void> {
    await this.container.resize(size);
  }

  async start(): Promise<void> {
    await this.container.start();
  }

  async wait(): Promise<ExitState> {
    await this.container.wait();
    const state = await this.container.state();
    return { exitCode: state.exitCode, oomKilled: state.oomKilled };
  }

  async pause(): Promise<void> {
    await this.container.pause();
  }

  async unpause(): Promise<void> {
    await this.container.unpause().catch(() => undefined); // not paused: nothing to do
  }

  async kill(): Promise<void> {
    await this.unpause(); // the engine refuses to kill a paused container
    await this.container.kill('SIGKILL').catch((error: unknown) => {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error; // gone, or not running: nothing to kill
    });
  }

  archive(path: string): Promise<NodeJS.ReadableStream | undefined> {
    return this.container.copyOut(path);
  }

  /** Removes the container (killing it if it runs); safe to call twice. Returns the containers removed. */
  async destroy(): Promise<number> {
    try {
      // `v`: an anonymous volume (an image's VOLUME that was not given a tmpfs) goes with it.
      await this.container.remove({ volumes: true });
      return 1;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return 0;
    }
  }
}

/** Removes a task's volumes once no container uses them any more; returns how many were removed. */
export async function removeVolumes(backend: TaskBackend, names: string[]): Promise<number> {
  let removed = 0;
  for (const name of names) {
    if (await backend.removeVolume(name)) removed += 1;
  }
  return removed;
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

/** The paths an image declares as VOLUMEs (its config), e.g. `/cache`. */
export async function imageVolumes(backend: TaskBackend, image: string): Promise<string[]> {
  return (await backend.image(image)).volumes;
}
