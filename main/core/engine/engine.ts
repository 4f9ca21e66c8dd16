import Dockerode from 'dockerode';
import { AirlockError } from '../errors.js';
import { resolveEngineEndpoint, type EngineEndpoint } from './connection.js';
import { socketAccess } from './engine-access.js';

export interface EngineInfo {
  endpoint: string;
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
  /** e.g. "Docker Engine - Community", "Podman Engine" */
  platform: string;
}

/** Labels on every container, network and volume Airlock creates, so the reaper can find leftovers. */
export const LABEL = {
  task: 'airlock.task',
  agent: 'airlock.agent',
  digest: 'airlock.digest',
  owner: 'airlock.owner',
} as const;

/**
 * The Docker-compatible engine. A thin wrapper over dockerode: it owns the connection and turns
 * "cannot connect" into one actionable error instead of a stack trace.
 */
export class Engine {
  readonly api: Dockerode;
  readonly endpoint: EngineEndpoint;

  constructor(api: Dockerode, endpoint: EngineEndpoint) {
    this.api = api;
    this.endpoint = endpoint;
  }

  static connect(env: NodeJS.ProcessEnv = process.env): Engine {
    const endpoint = resolveEngineEndpoint(env);
    return new Engine(new Dockerode(endpoint.options), endpoint);
  }

  async info(): Promise<EngineInfo> {
    try {
      const v = await this.api.version();
      return {
        endpoint: this.endpoint.description,
        version: v.Version,
        apiVersion: v.ApiVersion,
        os: v.Os,
        arch: v.Arch,
        platform: (v as { Platform?: { Name?: string } }).Platform?.Name ?? 'Docker Engine',
      };
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Run an engine call, turning a connection failure into engine_unavailable. */
  async call<T>(fn: (api: Dockerode) => Promise<T>): Promise<T> {
    try {
      return await fn(this.api);
    } catch (error) {
      if (isConnectionError(error)) throw this.unavailable(error);
      throw error;
    }
  }

  unavailable(error: unknown): AirlockError {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    // Refused by the socket's permissions: the fix is a right (the docker group), not starting Docker.
    const denied = reason === 'EACCES' && 'socketPath' in this.endpoint.options ? socketAccess(this.endpoint.options.socketPath) : undefined;
    return new AirlockError(
      'engine_unavailable',
      `cannot reach the Docker engine at ${this.endpoint.description}: ${denied && !denied.ok ? denied.message : reason}`,
      denied?.fix ?? 'start Docker (Docker Desktop, `sudo systemctl start docker`, or `podman system service`), or set DOCKER_HOST',
      { cause: error },
    );
  }
}

export function isConnectionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET'
    || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'EPIPE';
}

/** dockerode reports HTTP errors with statusCode; 404 means "no such object". */
export function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number } | undefined)?.statusCode === 404;
}
