import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveEngineEndpoint } from '../../main/core/engine/connection.js';
import { listContexts, useContext } from '../../main/core/engine/docker-contexts.js';
import { parseDockerHost } from '../../main/core/engine/docker-host.js';
import { sshArgs } from '../../main/core/engine/ssh-dial.js';
import { dockerConfig } from '../helpers/docker-config.js';
import { tempDir } from '../helpers/env.js';

const none = () => false;

describe('finding the engine', () => {
  it('uses DOCKER_HOST when it is set', () => {
    expect(resolveEngineEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/podman/podman.sock' }, { platform: 'linux', exists: none }))
      .toMatchObject({ kind: 'unix', source: 'DOCKER_HOST', options: { socketPath: '/run/user/1000/podman/podman.sock' } });
    expect(parseDockerHost('tcp://127.0.0.1:2375', 'DOCKER_HOST')).toMatchObject({ kind: 'tcp', options: { protocol: 'http', host: '127.0.0.1', port: 2375 }, remote: false });
    expect(parseDockerHost('build-box.test:2376', 'DOCKER_HOST')).toMatchObject({ kind: 'tcp', options: { host: 'build-box.test', port: 2376 }, remote: true });
    expect(parseDockerHost('ssh://ada@build-box.test:2222', 'DOCKER_HOST')).toMatchObject({ kind: 'ssh', remote: true });
  });

  it('refuses a DOCKER_HOST it cannot use in one line saying what would work', () => {
    expect(() => parseDockerHost('fd://', 'DOCKER_HOST')).toThrow(/^DOCKER_HOST "fd:\/\/" is not a Docker host Airlock can use$/);
    for (const [url, why] of [['ssh://ada:hunter2@box.test', /password/], ['ssh://box.test/var/run/docker.sock', /path/], ['ssh://box.test?x=1', /query/], ['ssh://', /no host/]] as const) {
      expect(() => parseDockerHost(url, 'DOCKER_HOST')).toThrow(why);
    }
  });

  it('refuses an ssh host or user a shell or ssh could read as more than a name (ProxyCommand %h, %r)', () => {
    for (const url of ['ssh://box$(touch${IFS}pwned).test', 'ssh://a;b&c.test', "ssh://box'x.test", 'ssh://u%60id%60@box.test', 'ssh://u%24(id)@box.test', 'ssh://box%0aProxyCommand.test', 'ssh://-oProxyCommand=x', 'ssh://x%ZZ@box.test']) {
      expect(() => parseDockerHost(url, 'DOCKER_HOST'), url).toThrow(/is not an ssh address Airlock can use: the host or user is not a name$/);
    }
    for (const url of ['ssh://ada@box.test:2222', 'ssh://root@127.0.0.1', 'ssh://[::1]:22', 'ssh://ada.lovelace@build_box.test', 'ssh://ada%40corp.test@box.test']) {
      expect(parseDockerHost(url, 'DOCKER_HOST'), url).toMatchObject({ kind: 'ssh' });
    }
  });

  it('dials ssh as the docker CLI does, never prompting, the host after "--"', () => {
    expect(sshArgs({ user: 'ada', host: 'box.test', port: '2222' })).toEqual(['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=3', '-T', '-l', 'ada', '-p', '2222', '--', 'box.test', 'docker', 'system', 'dial-stdio']);
  });

  it('DOCKER_TLS_VERIFY passes the CA and client pair explicitly, and refuses missing files rather than going unverified', () => {
    const certs = tempDir();
    expect(() => resolveEngineEndpoint({ DOCKER_HOST: 'tcp://box.test:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs })).toThrow(/DOCKER_TLS_VERIFY is set but .*ca\.pem does not exist/);
    for (const name of ['ca', 'cert', 'key']) fs.writeFileSync(path.join(certs, `${name}.pem`), `${name}-pem`);
    expect(resolveEngineEndpoint({ DOCKER_HOST: 'tcp://box.test:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }).options)
      .toMatchObject({ protocol: 'https', host: 'box.test', port: 2376, ca: 'ca-pem', cert: 'cert-pem', key: 'key-pem' });
    // Without DOCKER_TLS_VERIFY a tcp:// host is plain HTTP, as with the docker CLI (no guessing from the port).
    expect(resolveEngineEndpoint({ DOCKER_HOST: 'tcp://box.test:2376', DOCKER_CERT_PATH: certs }).options).toMatchObject({ protocol: 'http', ca: undefined });
  });

  it('DOCKER_TLS (the docker CLI\'s TLS without verification) is refused rather than served as plain HTTP', () => {
    expect(() => resolveEngineEndpoint({ DOCKER_HOST: 'tcp://box.test:2376', DOCKER_TLS: '1' })).toThrow(/^DOCKER_TLS asks for TLS without verifying the engine, which Airlock does not do$/);
  });

  it('a relative DOCKER_CERT_PATH is refused: the engine process outlives the directory it was typed in', () => {
    const certs = tempDir();
    for (const name of ['ca', 'cert', 'key']) fs.writeFileSync(path.join(certs, `${name}.pem`), `${name}-pem`);
    const relative = path.relative(process.cwd(), certs);
    expect(() => resolveEngineEndpoint({ DOCKER_HOST: 'tcp://box.test:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: relative })).toThrow(/^DOCKER_CERT_PATH ".*" is not an absolute path$/);
  });

  it('otherwise takes the first socket that exists: Docker, Docker Desktop, rootless, Podman', () => {
    const exists = (p: string) => p === '/run/user/1000/podman/podman.sock';
    const endpoint = resolveEngineEndpoint({ XDG_RUNTIME_DIR: '/run/user/1000', DOCKER_CONFIG: tempDir() }, { platform: 'linux', exists });
    expect(endpoint).toMatchObject({ kind: 'unix', source: 'default', context: 'default', options: { socketPath: '/run/user/1000/podman/podman.sock' } });
    expect(endpoint.description).toBe('unix:///run/user/1000/podman/podman.sock (Podman)');
  });

  it('falls back to the default socket, named in the error a user would see', () => {
    expect(resolveEngineEndpoint({ DOCKER_CONFIG: tempDir() }, { platform: 'linux', exists: none }).description).toBe('unix:///var/run/docker.sock (default Docker socket)');
    expect(resolveEngineEndpoint({ DOCKER_CONFIG: tempDir() }, { platform: 'win32', exists: none }).options).toMatchObject({ socketPath: '\\\\.\\pipe\\docker_engine' });
  });
});

describe('Docker contexts', () => {
  const contexts = { build: { host: 'ssh://ada@build.test' }, lab: { host: 'tcp://lab.test:2376', tls: { 'ca.pem': 'lab-ca', 'cert.pem': 'lab-cert', 'key.pem': 'lab-key' } } };

  it('follows the docker CLI precedence: --context > DOCKER_HOST > DOCKER_CONTEXT > currentContext > default', () => {
    const DOCKER_CONFIG = dockerConfig(contexts, 'build');
    const resolve = (env: NodeJS.ProcessEnv, context?: string) => resolveEngineEndpoint({ DOCKER_CONFIG, ...env }, { context, platform: 'linux', exists: none });
    expect(resolve({})).toMatchObject({ kind: 'ssh', source: 'context', context: 'build' });
    expect(resolve({ DOCKER_CONTEXT: 'lab' })).toMatchObject({ kind: 'tcp', source: 'context', context: 'lab' });
    expect(resolve({ DOCKER_CONTEXT: 'lab', DOCKER_HOST: 'unix:///elsewhere.sock' })).toMatchObject({ source: 'DOCKER_HOST', options: { socketPath: '/elsewhere.sock' } });
    expect(resolve({ DOCKER_HOST: 'unix:///elsewhere.sock' }, 'lab')).toMatchObject({ source: 'context', context: 'lab' });
    expect(resolve({ DOCKER_CONTEXT: 'default' })).toMatchObject({ source: 'default', options: { socketPath: '/var/run/docker.sock' } });
    expect(resolve({}, 'lab').description).toBe('tcp://lab.test:2376 (Docker context "lab", from --context)');
  });

  it('takes a context\'s TLS files, and refuses one that turns verification off or does not exist', () => {
    const DOCKER_CONFIG = dockerConfig({ ...contexts, careless: { host: 'tcp://careless.test:2376', skipTls: true, tls: { 'ca.pem': 'x' } } });
    expect(resolveEngineEndpoint({ DOCKER_CONFIG, DOCKER_CONTEXT: 'lab' }).options).toMatchObject({ protocol: 'https', ca: 'lab-ca', cert: 'lab-cert', key: 'lab-key' });
    expect(() => resolveEngineEndpoint({ DOCKER_CONFIG, DOCKER_CONTEXT: 'careless' })).toThrow(/turns TLS verification off \(SkipTLSVerify\)/);
    // Without TLS files too: the docker CLI would talk TLS unchecked; Airlock neither that nor plain HTTP.
    const bare = dockerConfig({ bare: { host: 'tcp://bare.test:2376', skipTls: true } });
    expect(() => resolveEngineEndpoint({ DOCKER_CONFIG: bare, DOCKER_CONTEXT: 'bare' })).toThrow(/turns TLS verification off \(SkipTLSVerify\)/);
    expect(() => resolveEngineEndpoint({ DOCKER_CONFIG, DOCKER_CONTEXT: 'nope' })).toThrow(/^the Docker context "nope" does not exist/);
    expect(() => resolveEngineEndpoint({ DOCKER_CONFIG, DOCKER_CONTEXT: '../../etc' })).toThrow(/is not a Docker context name/);
  });

  it('a damaged config.json is one line naming the file', () => {
    const DOCKER_CONFIG = dockerConfig({});
    fs.writeFileSync(path.join(DOCKER_CONFIG, 'config.json'), '{ nope');
    expect(() => resolveEngineEndpoint({ DOCKER_CONFIG })).toThrow(/config\.json is not valid JSON/);
  });

  it('lists contexts default first, and switching writes currentContext as `docker context use` does, keeping the rest', () => {
    const DOCKER_CONFIG = dockerConfig(contexts, 'build');
    expect(listContexts({ DOCKER_CONFIG }).map((c) => [c.name, c.host])).toEqual([['default', undefined], ['build', 'ssh://ada@build.test'], ['lab', 'tcp://lab.test:2376']]);
    useContext({ DOCKER_CONFIG }, 'lab');
    expect(JSON.parse(fs.readFileSync(path.join(DOCKER_CONFIG, 'config.json'), 'utf8'))).toEqual({ auths: { 'registry.test': {} }, currentContext: 'lab' });
    useContext({ DOCKER_CONFIG }, 'default');
    expect(JSON.parse(fs.readFileSync(path.join(DOCKER_CONFIG, 'config.json'), 'utf8'))).toEqual({ auths: { 'registry.test': {} } });
    expect(() => useContext({ DOCKER_CONFIG }, 'nope')).toThrow(/does not exist/);
  });
});

describe('the engine settings digest', () => {
  it('changes with DOCKER_CONTEXT, DOCKER_CONFIG and the context the docker config names, so an idle engine on the old one is replaced', async () => {
    const { settingsDigest } = await import('../../main/core/server/settings.js');
    const DOCKER_CONFIG = dockerConfig({ build: { host: 'ssh://ada@build.test' } });
    const before = settingsDigest({ DOCKER_CONFIG });
    expect(settingsDigest({ DOCKER_CONFIG, DOCKER_CONTEXT: 'build' })).not.toBe(before);
    expect(settingsDigest({ DOCKER_CONFIG: tempDir() })).not.toBe(before);
    useContext({ DOCKER_CONFIG }, 'build');
    expect(settingsDigest({ DOCKER_CONFIG })).not.toBe(before);
    useContext({ DOCKER_CONFIG }, 'default');
    expect(settingsDigest({ DOCKER_CONFIG })).toBe(before);
  });
});

describe('the CLI\'s --context', () => {
  it('reaches the engine as DOCKER_CONTEXT, over DOCKER_HOST unless it names the default context', async () => {
    const { useContextOption } = await import('../../main/cli/index.js');
    const env: NodeJS.ProcessEnv = { DOCKER_HOST: 'unix:///elsewhere.sock' };
    useContextOption('default', env);
    expect(env).toEqual({ DOCKER_HOST: 'unix:///elsewhere.sock', DOCKER_CONTEXT: 'default' });
    useContextOption('build', env);
    expect(env).toEqual({ DOCKER_CONTEXT: 'build' });
    expect(() => useContextOption(' ', {})).toThrow(/--context needs a context name/);
  });
});
