import Dockerode from 'dockerode';
import { AirlockError, isAirlockError } from '../errors.js';
import { resolveEngineEndpoint, type EngineEndpoint } from './connection.js';
import { socketAccess } from './engine-access.js';
import { isTlsError, tlsFailure } from './docker-tls.js';

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

  /** The engine the environment names (DOCKER_HOST, DOCKER_CONTEXT, the docker config's context). */
  static connect(env: NodeJS.ProcessEnv = process.env): Engine {
    const endpoint = resolveEngineEndpoint(env);
    return new Engine(dockerodeFor(endpoint), endpoint);
  }

  /** Ends what the connection holds open (an ssh engine's shared session); idle sockets need nothing. */
  async close(): Promise<void> {
    await (this.endpoint.options.agent as { close?: () => Promise<void> } | undefined)?.close?.();
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
    // An ssh or TLS failure already says what went wrong and how to fix it.
    if (isAirlockError(error) && error.code === 'engine_unavailable') return error;
    const tls = tlsFailure(error);
    if (tls) return new AirlockError('engine_unavailable', `cannot reach the Docker engine at ${this.endpoint.description}: ${tls.reason}`, tls.fix, { cause: error });
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    // Refused by the socket's permissions: the fix is a right (the docker group), not starting Docker.
    const socket = this.endpoint.kind === 'unix' ? this.endpoint.options.socketPath : undefined;
    const denied = reason === 'EACCES' && socket ? socketAccess(socket) : undefined;
    if (denied && !denied.ok && denied.fix) return new AirlockError('engine_unavailable', `cannot reach the Docker engine at ${this.endpoint.description}: ${denied.message}`, denied.fix, { cause: error });
    const { source, remote, context } = this.endpoint;
    const start = remote ? 'start that Docker engine and check it is reachable from here' : 'start Docker (Docker Desktop, `sudo systemctl start docker`, or `podman system service`)';
    const other = source === 'DOCKER_HOST' ? 'fix or unset DOCKER_HOST' : source === 'context' ? `pick another context than "${context}" (--context, \`docker context use\`)` : 'set DOCKER_HOST';
    const fix = `${start}, or ${other}`;
    return new AirlockError('engine_unavailable', `cannot reach the Docker engine at ${this.endpoint.description}: ${reason}`, fix, { cause: error });
  }
}

/** What docker-modem reads from process.env while it is constructed, whatever options it is given. */
const MODEM_ENV = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CLIENT_TIMEOUT', 'DOCKER_PATH_PREFIX'] as const;

/**
 * dockerode for exactly this endpoint. docker-modem's constructor reads DOCKER_HOST and
 * DOCKER_CERT_PATH from process.env (and reads those files) before it looks at its options: they
 * are hidden from it for that synchronous moment, so the engine's own settings alone decide.
 */
export function dockerodeFor(endpoint: EngineEndpoint): Dockerode {
  const saved = MODEM_ENV.map((name) => [name, process.env[name]] as const);
  for (const [name] of saved) delete process.env[name];
  try {
    return new Dockerode(endpoint.options);
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}

export function isConnectionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'engine_unavailable' || code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET'
    || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'EPIPE' || isTlsError(error);
}

/** dockerode reports HTTP errors with statusCode; 404 means "no such object". */
export function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number } | undefined)?.statusCode === 404;
}
