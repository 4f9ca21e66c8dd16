import { describe, expect, it } from 'vitest';
import { parseDockerHost, resolveEngineEndpoint } from '../../main/core/engine/connection.js';

describe('finding the engine', () => {
  it('uses DOCKER_HOST when it is set', () => {
    expect(resolveEngineEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/podman/podman.sock' }, 'linux', () => false).options)
      .toEqual({ socketPath: '/run/user/1000/podman/podman.sock' });
    expect(parseDockerHost('tcp://127.0.0.1:2375')).toMatchObject({ options: { protocol: 'http', host: '127.0.0.1', port: 2375 }, remote: false });
    expect(parseDockerHost('tcp://build-box.test:2376')).toMatchObject({ remote: true });
  });

  it('refuses a DOCKER_HOST it cannot use, saying what would work', () => {
    expect(() => parseDockerHost('ssh://me@host.test')).toThrow(/not supported: use unix:\/\/, npipe:\/\/ or tcp:\/\//);
  });

  it('otherwise takes the first socket that exists: Docker, Docker Desktop, rootless, Podman', () => {
    const exists = (p: string) => p === '/run/user/1000/podman/podman.sock';
    const endpoint = resolveEngineEndpoint({ XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux', exists);
    expect(endpoint.options).toEqual({ socketPath: '/run/user/1000/podman/podman.sock' });
    expect(endpoint.description).toBe('unix:///run/user/1000/podman/podman.sock (Podman)');
  });

  it('falls back to the default socket, named in the error a user would see', () => {
    expect(resolveEngineEndpoint({}, 'linux', () => false).description).toBe('unix:///var/run/docker.sock (default Docker socket)');
    expect(resolveEngineEndpoint({}, 'win32', () => false).options).toEqual({ socketPath: '\\\\.\\pipe\\docker_engine' });
  });
});
