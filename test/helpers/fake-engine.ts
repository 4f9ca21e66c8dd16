import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { Engine } from '../../main/core/engine/engine.js';
import { encodeFrame, FRAME } from '../../main/core/engine/relay-frames.js';

/** The engine calls a task's start makes, by name: a test makes any one of them fail. */
export type EngineStep =
  | 'create sidecar' | 'attach sidecar' | 'start sidecar' | 'create agent' | 'seed workspace' | 'trust CA'
  | 'attach agent' | 'start agent' | 'wait' | 'collect';

function engineError(step: string): Error {
  return Object.assign(new Error(`(HTTP code 500) server error - injected failure: ${step}`), { statusCode: 500, json: { message: `injected failure: ${step}` } });
}

/** One multiplexed stdout frame of the engine's attach stream. */
function stdoutFrame(payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = 1;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

class FakeContainer {
  readonly id: string;
  readonly name: string;
  readonly role: 'sidecar' | 'agent';
  running = false;
  exitCode = 0;
  #exited: () => void = () => undefined;
  readonly #exit = new Promise<void>((resolve) => (this.#exited = resolve));
  #stream: PassThrough | undefined;
  readonly #engine: FakeEngine;

  constructor(engine: FakeEngine, options: Dockerode.ContainerCreateOptions) {
    this.#engine = engine;
    this.name = options.name ?? 'unnamed';
    this.id = `${this.name}-id`;
    this.role = options.Labels?.['airlock.role'] === 'sidecar' ? 'sidecar' : 'agent';
  }

  async attach(): Promise<PassThrough> {
    this.#engine.maybeFail(`attach ${this.role}`);
    this.#stream = new PassThrough();
    return this.#stream;
  }

  async start(): Promise<void> {
    this.#engine.maybeFail(`start ${this.role}`);
    this.running = true;
    if (this.role === 'sidecar') {
      this.#stream?.push(stdoutFrame(encodeFrame(FRAME.READY, 0, Buffer.from(JSON.stringify({ interfaces: this.#engine.interfaces, port: 3128 })))));
    } else if (this.#engine.agentExitsAt === 'start') {
      setTimeout(() => this.stop(0), 5);
    }
  }

  async putArchive(stream: NodeJS.ReadableStream): Promise<void> {
    for await (const _ of stream) {
      // read it through, as the engine would
    }
    this.#engine.maybeFail(this.#engine.putArchives++ === 0 ? 'seed workspace' : 'trust CA');
  }

  async getArchive(): Promise<NodeJS.ReadableStream> {
    if (this.#engine.failing === 'collect') throw engineError('collect');
    throw Object.assign(new Error('(HTTP code 404) no such file'), { statusCode: 404, json: { message: 'Could not find the file' } });
  }

  async wait(): Promise<{ StatusCode: number }> {
    if (this.#engine.failing === 'wait') throw engineError('wait');
    await this.#exit;
    return { StatusCode: this.exitCode };
  }

  async inspect(): Promise<{ State: { Running: boolean; ExitCode: number; OOMKilled: boolean } }> {
    if (!this.#engine.containers.has(this.id)) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    return { State: { Running: this.running, ExitCode: this.exitCode, OOMKilled: false } };
  }

  async kill(): Promise<void> {
    this.stop(137);
  }

  async pause(): Promise<void> {}
  async unpause(): Promise<void> {}

  async remove(): Promise<void> {
    if (!this.#engine.containers.delete(this.id)) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    this.stop(137);
    this.#engine.log.push(`removed ${this.role}`);
  }

  stop(code: number): void {
    if (!this.running) {
      this.#exited();
      return;
    }
    this.running = false;
    this.exitCode = code;
    this.#stream?.end();
    this.#exited();
  }
}

/**
 * An engine in memory that does what a task's start asks of Docker — containers, their volumes,
 * attach streams, a sidecar that reports ready — and fails at the step a test names. It keeps what
 * exists, so a test can see what a failed start left behind (nothing, when the undo is right).
 */
export class FakeEngine {
  readonly containers = new Map<string, FakeContainer>();
  readonly volumes = new Set<string>();
  readonly log: string[] = [];
  failing: EngineStep | undefined;
  /** What the sidecar reports it sees. */
  interfaces = ['lo'];
  /** The agent's command ends right after it starts (else it runs until killed). */
  agentExitsAt: 'start' | 'never' = 'start';
  putArchives = 0;

  maybeFail(step: string): void {
    if (this.failing === step) throw engineError(step);
  }

  /** The Engine the runner is given: its API is this fake. */
  asEngine(): Engine {
    const api = {
      createContainer: async (options: Dockerode.ContainerCreateOptions) => {
        const container = new FakeContainer(this, options);
        this.maybeFail(`create ${container.role}`);
        this.containers.set(container.id, container);
        for (const mount of options.HostConfig?.Mounts ?? []) if (mount.Type === 'volume' && mount.Source) this.volumes.add(mount.Source);
        this.log.push(`created ${container.role}`);
        return container;
      },
      getImage: () => ({ inspect: async () => ({ Config: { Volumes: null } }) }),
      getVolume: (name: string) => ({
        remove: async () => {
          if (!this.volumes.delete(name)) throw Object.assign(new Error('no such volume'), { statusCode: 404 });
          this.log.push(`removed volume ${name.replace(/^airlock-t_[0-9a-z]+-/, '')}`);
        },
      }),
    };
    return new Engine(api as unknown as Dockerode, { description: 'fake', options: {} } as unknown as Engine['endpoint']);
  }
}
