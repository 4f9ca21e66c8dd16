import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** How to reach a Docker-compatible engine, and how we decided. */
export interface EngineEndpoint {
  /** For dockerode: either a unix socket / named pipe, or a TCP host. */
  options: { socketPath: string } | { protocol: 'http' | 'https'; host: string; port: number };
  /** Human description, e.g. `unix:///var/run/docker.sock (default Linux socket)`. */
  description: string;
  /** True when the engine runs on another machine or VM, so host paths are not shared with it. */
  remote: boolean;
}

/**
 * DOCKER_HOST wins; otherwise the first socket that exists among the platform's usual places
 * (Docker Engine, Docker Desktop, rootless Docker, Podman's Docker-compatible socket).
 */
export function resolveEngineEndpoint(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  exists: (p: string) => boolean = fs.existsSync,
): EngineEndpoint {
  const dockerHost = env.DOCKER_HOST?.trim();
  if (dockerHost) return parseDockerHost(dockerHost);
  const candidates = defaultSockets(env, platform);
  const found = candidates.find((c) => exists(c.path)) ?? candidates[0]!;
  return {
    options: { socketPath: found.path },
    description: `${platform === 'win32' ? 'npipe://' : 'unix://'}${found.path} (${found.label})`,
    remote: false,
  };
}

export function parseDockerHost(value: string): EngineEndpoint {
  const url = new URL(value);
  switch (url.protocol) {
    case 'unix:':
      return { options: { socketPath: url.pathname }, description: `${value} (DOCKER_HOST)`, remote: false };
    case 'npipe:':
      return { options: { socketPath: url.pathname.replace(/\//g, '\\') }, description: `${value} (DOCKER_HOST)`, remote: false };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || process.env.DOCKER_TLS_VERIFY === '1';
      return {
        options: { protocol: tls ? 'https' : 'http', host: url.hostname, port: Number(url.port || (tls ? 2376 : 2375)) },
        description: `${value} (DOCKER_HOST)`,
        remote: !['localhost', '127.0.0.1', '::1', '[::1]'].includes(url.hostname),
      };
    }
    default:
      throw new Error(`DOCKER_HOST=${value} is not supported: use unix://, npipe:// or tcp:// (ssh:// is not supported; forward the socket instead).`);
  }
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
