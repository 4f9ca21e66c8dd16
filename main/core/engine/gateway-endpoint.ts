import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { AirlockError } from '../errors.js';
import { RelayMux, type RelayPort } from '../gateway/relay-mux.js';
import { DockerFrameParser } from './docker-frames.js';
import { isNotFound, type Engine } from './engine.js';
import { gatewayContainerOptions } from './hardening.js';

export const GATEWAY_PORT = 3128;
/** The sandbox browser's proxy port (display tasks): see assets/gateway/relay.cjs. */
export const BROWSER_PROXY_PORT = 3129;

/**
 * A task's gateway endpoint: a container with no network but loopback, running the relay
 * (assets/gateway/relay.cjs). The agent's container joins its network namespace, so the only
 * thing the agent can connect to is the relay on 127.0.0.1:3128, and the relay's only way out is
 * its stdin/stdout, attached by Airlock through the engine. Isolation is checked, not assumed: the
 * relay reports the interfaces it sees, and anything but loopback refuses the task.
 */
export class GatewayEndpoint {
  readonly container: Dockerode.Container;
  readonly #mux: RelayMux;
  readonly #attached: NodeJS.ReadWriteStream;

  private constructor(container: Dockerode.Container, mux: RelayMux, attached: NodeJS.ReadWriteStream) {
    this.container = container;
    this.#mux = mux;
    this.#attached = attached;
  }

  static async start(engine: Engine, options: {
    name: string;
    labels: Record<string, string>;
    image: string;
    assetsDir: string;
    onConnection: (stream: Duplex, port: RelayPort) => void;
    onLog?: (text: string) => void;
    /** Also listen on BROWSER_PROXY_PORT for the sandbox's browser (display tasks). */
    browser?: boolean;
    readyTimeoutMs?: number;
  }): Promise<GatewayEndpoint> {
    const relaySource = fs.readFileSync(path.join(options.assetsDir, 'gateway', 'relay.cjs'), 'utf8');
    const container = await engine.call((api) => api.createContainer(gatewayContainerOptions({ name: options.name, labels: options.labels, image: options.image, relaySource, port: GATEWAY_PORT, ...(options.browser ? { browserPort: BROWSER_PROXY_PORT } : {}) })));
    try {
      const attached = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      const mux = new RelayMux(attached, options.onConnection, options.onLog);
      let stderr = '';
      const frames = new DockerFrameParser((stream, piece) => {
        if (stream === 'stdout') mux.input(piece);
        else stderr = (stderr + piece.toString()).slice(-2000);
      });
      attached.on('data', (chunk: Buffer) => frames.push(chunk));
      attached.on('end', () => mux.close());
      attached.on('error', () => mux.close());
      await container.start();
      const ready = await Promise.race([
        mux.ready,
        new Promise<never>((_, reject) => setTimeout(() => reject(new AirlockError('internal', `the task's gateway endpoint did not start: ${stderr.trim() || 'no answer'}`, 'see `airlock doctor`')), options.readyTimeoutMs ?? 15_000).unref()),
      ]);
      const foreign = ready.interfaces.filter((name) => name !== 'lo');
      if (foreign.length > 0) {
        throw new AirlockError('policy_refused', `the sandbox's network is not isolated on this engine: the gateway endpoint sees ${foreign.join(', ')} besides loopback`,
          'run with --net none, or use an engine that honours NetworkMode none');
      }
      return new GatewayEndpoint(container, mux, attached);
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw error;
    }
  }

  async pause(): Promise<void> {
    await this.container.pause();
  }

  async unpause(): Promise<void> {
    await this.container.unpause().catch(() => undefined);
  }

  async destroy(): Promise<number> {
    this.#mux.close();
    this.#attached.end();
    try {
      await this.container.remove({ force: true });
      return 1;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  }
}
