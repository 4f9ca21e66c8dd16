/**
 * A Docker host address (DOCKER_HOST, or a context's endpoint) as the docker CLI reads it:
 * unix://, npipe://, tcp:// (or a bare host:port), ssh://. Anything else is refused in one line.
 */
import type http from 'node:http';
import { AirlockError } from '../errors.js';
import { hasTls, type TlsMaterial } from './docker-tls.js';
import { parseSshUrl, SshAgent, type SshDialDeps } from './ssh-dial.js';

export type EngineKind = 'unix' | 'npipe' | 'tcp' | 'ssh';

/**
 * dockerode's options with every key docker-modem would otherwise fill from the process
 * environment (DOCKER_HOST, DOCKER_CERT_PATH…) set explicitly, so the engine's own settings win.
 */
export interface DockerOptions {
  socketPath: string | undefined;
  protocol: 'http' | 'https' | undefined;
  host: string | undefined;
  port: number | undefined;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  agent: http.Agent | undefined;
}

export interface HostTarget {
  kind: EngineKind;
  options: DockerOptions;
  /** True when the engine runs on another machine or VM, so host paths are not shared with it. */
  remote: boolean;
}

const LOOPBACK = ['localhost', '127.0.0.1', '::1', '[::1]'];
const NONE: DockerOptions = { socketPath: undefined, protocol: undefined, host: undefined, port: undefined, ca: undefined, cert: undefined, key: undefined, agent: undefined };

export function socketOptions(socketPath: string): DockerOptions {
  return { ...NONE, socketPath };
}

/** `where` names the setting in errors (`DOCKER_HOST`, `context "x"`). */
export function parseDockerHost(value: string, where: string, tls?: TlsMaterial, ssh: SshDialDeps = {}): HostTarget {
  const address = value.includes('://') ? value : `tcp://${value}`;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw unsupported(value, where);
  }
  switch (url.protocol) {
    case 'unix:':
      return { kind: 'unix', options: socketOptions(decodeURIComponent(url.pathname) || '/var/run/docker.sock'), remote: false };
    case 'npipe:':
      return { kind: 'npipe', options: socketOptions(decodeURIComponent(url.pathname).replace(/\//g, '\\') || '\\\\.\\pipe\\docker_engine'), remote: false };
    case 'tcp:':
    case 'https:': {
      if (!url.hostname) throw unsupported(value, where);
      const secure = hasTls(tls) || url.protocol === 'https:';
      return {
        kind: 'tcp',
        options: { ...NONE, protocol: secure ? 'https' : 'http', host: url.hostname, port: Number(url.port || (secure ? 2376 : 2375)), ca: tls?.ca, cert: tls?.cert, key: tls?.key },
        remote: !LOOPBACK.includes(url.hostname),
      };
    }
    case 'ssh:': {
      const spec = parseSshUrl(value, where);
      // The Host header goes through dial-stdio to the remote engine's socket; it is not resolved.
      return { kind: 'ssh', options: { ...NONE, protocol: 'http', host: 'docker', port: 80, agent: new SshAgent(spec, ssh) }, remote: true };
    }
    default:
      throw unsupported(value, where);
  }
}

function unsupported(value: string, where: string): AirlockError {
  return new AirlockError('engine_unavailable', `${where} ${JSON.stringify(value)} is not a Docker host Airlock can use`, 'use unix:///path/to/docker.sock, tcp://host:2376 (with DOCKER_TLS_VERIFY=1) or ssh://user@host');
}
