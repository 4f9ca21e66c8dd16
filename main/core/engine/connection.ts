/**
 * Which Docker engine Airlock talks to, decided as the docker CLI decides it: --context, then
 * DOCKER_HOST, then DOCKER_CONTEXT, then the docker config's current context; the `default`
 * context is DOCKER_HOST or the first of the platform's usual sockets that exists.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { DEFAULT_CONTEXT, dockerConfigDir, readContext, resolveContextName } from './docker-contexts.js';
import { parseDockerHost, socketOptions, type DockerOptions, type EngineKind } from './docker-host.js';
import { hasTls, tlsFromEnv } from './docker-tls.js';
import type { SshDialDeps } from './ssh-dial.js';

export type { DockerOptions, EngineKind } from './docker-host.js';

/** How to reach a Docker-compatible engine, and how we decided. */
export interface EngineEndpoint {
  kind: EngineKind;
  /** What chose it: DOCKER_HOST, a Docker context (named in `context`), or the usual socket. */
  source: 'DOCKER_HOST' | 'context' | 'default';
  context?: string;
  /** dockerode's options, complete (nothing left for docker-modem to take from process.env). */
  options: DockerOptions;
  /** Human description, e.g. `unix:///var/run/docker.sock (default Docker socket)`. */
  description: string;
  /** True when the engine runs on another machine or VM, so host paths are not shared with it. */
  remote: boolean;
}

export interface ResolveOptions {
  /** The CLI's --context (it also reaches the engine process as DOCKER_CONTEXT). */
  context?: string;
  platform?: NodeJS.Platform;
  exists?: (p: string) => boolean;
  ssh?: SshDialDeps;
}

export function resolveEngineEndpoint(env: NodeJS.ProcessEnv = process.env, options: ResolveOptions = {}): EngineEndpoint {
  const platform = options.platform ?? process.platform;
  const ssh = { env, ...options.ssh };
  const { name, from } = resolveContextName(env, options.context);
  if (name !== DEFAULT_CONTEXT) {
    const context = readContext(env, name);
    // With or without TLS files: the docker CLI would talk TLS unchecked; plain HTTP is not the answer either.
    if (context.skipTlsVerify) {
      throw new AirlockError('engine_unavailable', `the Docker context "${name}" turns TLS verification off (SkipTLSVerify), which Airlock does not do`, `give it the engine's CA: \`docker context update ${name} --docker "host=${context.host},ca=…,cert=…,key=…"\``);
    }
    const target = parseDockerHost(context.host!, `the Docker context "${name}" has host`, hasTls(context.tls) ? context.tls : undefined, ssh);
    return { ...target, source: 'context', context: name, description: `${context.host} (Docker context "${name}"${from === '--context' ? ', from --context' : from === 'DOCKER_CONTEXT' ? ', from DOCKER_CONTEXT' : ''})` };
  }
  const dockerHost = env.DOCKER_HOST?.trim();
  if (dockerHost) {
    const target = parseDockerHost(dockerHost, 'DOCKER_HOST', tlsFromEnv(env, dockerConfigDir(env)), ssh);
    return { ...target, source: 'DOCKER_HOST', context: DEFAULT_CONTEXT, description: `${dockerHost} (DOCKER_HOST)` };
  }
  const candidates = defaultSockets(env, platform);
  const found = candidates.find((c) => (options.exists ?? fs.existsSync)(c.path)) ?? candidates[0]!;
  return {
    kind: platform === 'win32' ? 'npipe' : 'unix',
    source: 'default',
    context: DEFAULT_CONTEXT,
    options: socketOptions(found.path),
    description: `${platform === 'win32' ? 'npipe://' : 'unix://'}${found.path} (${found.label})`,
    remote: false,
  };
}

function defaultSockets(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): { path: string; label: string }[] {
  const home = os.homedir();
  if (platform === 'win32') {
    return [
      { path: '\\\\.\\pipe\\docker_engine', label: 'Docker Desktop' },
      { path: '\\\\.\\pipe\\podman-machine-default', label: 'Podman machine' },
    ];
  }
  const runtimeDir = env.XDG_RUNTIME_DIR ?? (typeof process.getuid === 'function' ? `/run/user/${process.getuid()}` : '');
  const list = [
    { path: '/var/run/docker.sock', label: 'default Docker socket' },
    { path: path.join(home, '.docker', 'run', 'docker.sock'), label: 'Docker Desktop' },
    { path: path.join(home, '.docker', 'desktop', 'docker.sock'), label: 'Docker Desktop' },
  ];
  if (runtimeDir) {
    list.push({ path: path.join(runtimeDir, 'docker.sock'), label: 'rootless Docker' });
    list.push({ path: path.join(runtimeDir, 'podman', 'podman.sock'), label: 'Podman' });
  }
  list.push({ path: '/run/podman/podman.sock', label: 'Podman (system)' });
  if (platform === 'darwin') {
    list.push({ path: path.join(home, '.colima', 'default', 'docker.sock'), label: 'Colima' });
    list.push({ path: path.join(home, '.local', 'share', 'containers', 'podman', 'machine', 'podman.sock'), label: 'Podman machine' });
  }
  return list;
}
