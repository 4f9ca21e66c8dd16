import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { AirlockError } from '../errors.js';
import { RelayMux, type RelayPort } from './relay-mux.js';
import { DockerFrameParser } from './docker-frames.js';
import type { BackendContainer, TaskBackend } from './backend.js';
import { isNotFound } from './engine.js';
import type { WorkspacePlan } from './hardening.js';

export const GATEWAY_PORT = 3128;
/** The sandbox browser's proxy port (display tasks): see assets/sidecar/sidecar.cjs. */
export const BROWSER_PROXY_PORT = 3129;
/** How long a sidecar waits for Airlock to start the agent and arm the deadline before it gives up. */
const START_ALLOWANCE_MS = 10 * 60_000;

export interface SidecarEvents {
  /** A connection from the agent to the proxy (or the browser's) port: for the gateway. */
  onConnection?(stream: Duplex, port: RelayPort): void;
  /** A report from the sidecar: the workspace is full, connections were refused over the limit. */
  onStatus?(status: Record<string, unknown>): void;
  /** More relayed connections at once than a task may hold. */
  onConnectionRefused?(open: number): void;
}

/**
 * A task's sidecar (see sidecarContainerOptions): created first, attached before it starts (its
 * stdin is Airlock's lifeline to the task: StdinOnce, so the engine closes it when this process
 * dies), started, then checked: it reports the interfaces it sees, and anything but loopback
 * refuses the task. `lost` settles with a reason if it ends while the task still needs it (it was
 * killed, broke the protocol, or the engine's stream broke).
 */
export class TaskSidecar {
  readonly container: BackendContainer;
  /** Settles when the sidecar ends without Airlock asking it to: the task cannot go on. */
  readonly lost: Promise<string>;
  readonly #mux: RelayMux;
  readonly #attached: NodeJS.ReadWriteStream;
  readonly #relays: boolean;
  #stderr = '';
  #closing = false;
  #reported: (() => void) | undefined;

  /**
   * Creates the sidecar and attaches to it (not started yet: the agent's container can be created
   * meanwhile). The caller removes it with destroy(), whatever happens next.
   */
  static async create(backend: TaskBackend, options: {
    name: string;
    labels: Record<string, string>;
    image: string;
    assetsDir: string;
    workspace: WorkspacePlan;
    workdir: string;
    /** Relay the agent's connections to the gateway (allowlist and open networks). */
    proxy?: { browser: boolean };
    events: SidecarEvents;
  }): Promise<TaskSidecar> {
    const source = fs.readFileSync(path.join(options.assetsDir, 'sidecar', 'sidecar.cjs'), 'utf8');
    const config = {
      startAllowanceMs: START_ALLOWANCE_MS, workspace: options.workdir,
      ...(options.proxy ? { proxyPort: GATEWAY_PORT, ...(options.proxy.browser ? { browserPort: BROWSER_PROXY_PORT } : {}) } : {}),
    };
    const container = await backend.createSidecar({
      name: options.name, labels: options.labels, image: options.image, source, config, workspace: options.workspace, workdir: options.workdir,
    });
    let attached: NodeJS.ReadWriteStream;
    try {
      attached = await container.attach({ stdin: true });
    } catch (error) {
      await container.remove({ volumes: false }).catch(() => undefined);
      throw error;
    }
    return new TaskSidecar(container, attached, options.events, options.proxy !== undefined);
  }

  private constructor(container: BackendContainer, attached: NodeJS.ReadWriteStream, events: SidecarEvents, relays: boolean) {
    this.container = container;
    this.#attached = attached;
    this.#relays = relays;
    let declareLost: (reason: string) => void = () => undefined;
    this.lost = new Promise<string>((resolve) => (declareLost = resolve));
    let lastWords = '';
    this.#mux = new RelayMux(attached, {
      onConnection: (connection, port) => {
        if (events.onConnection) events.onConnection(connection, port);
        else connection.destroy(); // no network: nothing to relay to
      },
      onLog: (text) => (lastWords = text.slice(0, 500)),
      onStatus: (status) => {
        if (status.reported === true) this.#reported?.();
        else events.onStatus?.(status);
      },
      onConnectionRefused: (open) => events.onConnectionRefused?.(open),
      onProtocolError: (reason) => {
        declareLost(`the task's sidecar broke the relay protocol (${reason})`);
        attached.end();
      },
    });
    const frames = new DockerFrameParser((name, piece) => {
      if (name === 'stdout') this.#mux.input(piece);
      else this.#stderr = (this.#stderr + piece.toString()).slice(-2000);
    });
    attached.on('data', (chunk: Buffer) => frames.push(chunk));
    const ended = () => {
      this.#mux.close();
      const why = lastWords || this.#stderr.trim().split('\n').at(-1);
      if (!this.#closing) declareLost(`the task's sidecar ended${why ? ` (${why})` : ''}`);
    };
    attached.on('end', ended);
    attached.on('close', ended);
    attached.on('error', ended);
  }

  /** Starts it and checks it: it must see loopback only (and have opened the proxy port, if it relays). */
  async start(readyTimeoutMs = 15_000): Promise<void> {
    await this.container.start();
    // Rejects only while starting: the sidecar may well be lost later, when nobody races it.
    let failed: (error: AirlockError) => void = () => undefined;
    const notStarted = new Promise<never>((_, reject) => (failed = reject));
    notStarted.catch(() => undefined);
    void this.lost.then((reason) => failed(new AirlockError('internal', `the task's sidecar did not start: ${reason}`, 'see `airlock doctor`')));
    const timer = setTimeout(() => failed(new AirlockError('internal', `the task's sidecar did not start: ${this.#stderr.trim() || 'no answer'}`, 'see `airlock doctor`')), readyTimeoutMs);
    const ready = await Promise.race([this.#mux.ready, notStarted]).finally(() => clearTimeout(timer));
    const foreign = ready.interfaces.filter((name) => name !== 'lo');
    if (foreign.length > 0) {
      throw new AirlockError('policy_refused', `the sandbox's network is not isolated on this engine: its sidecar sees ${foreign.join(', ')} besides loopback`,
        'use an engine that honours NetworkMode none');
    }
    if (this.#relays && ready.port !== GATEWAY_PORT) throw new AirlockError('internal', 'the task\'s sidecar did not open the proxy port');
  }

  /**
   * Has the sidecar check and report now what it checks every second (the workspace full), so a
   * task that ends sooner is not missed; waits at most `timeoutMs` for the answer.
   */
  async flushReports(timeoutMs = 500): Promise<void> {
    const answered = new Promise<void>((resolve) => (this.#reported = resolve));
    let timer: NodeJS.Timeout | undefined;
    await this.#mux.requestReport();
    await Promise.race([answered, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]).finally(() => clearTimeout(timer));
    this.#reported = undefined;
  }

  /** Whether the sidecar still runs (it removes itself when it exits). */
  async alive(): Promise<boolean> {
    try {
      return (await this.container.state()).running;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The task's deadline, enforced by the sidecar itself even if Airlock is gone or hung. */
  arm(seconds: number): Promise<void> {
    return this.#mux.arm(seconds);
  }

  async pause(): Promise<void> {
    await this.container.pause();
  }

  async unpause(): Promise<void> {
    await this.container.unpause().catch(() => undefined);
  }

  /** Removes the sidecar (which kills whatever of the task still runs); returns the containers removed. */
  async destroy(): Promise<number> {
    this.#closing = true;
    this.#mux.close();
    this.#attached.end();
    try {
      await this.container.remove({ volumes: false });
      return 1;
    } catch (error) {
      if (isNotFound(error)) return 0; // gone already (it removes itself when it exits)
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
      // It is removing itself right now: wait until it is gone, so its volumes can go next.
      await this.container.wait('removed').catch(() => undefined);
      return 0;
    }
  }
}
