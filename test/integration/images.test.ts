// The agent-base and agent-desktop images as agents get them: run under the sandbox's hardening
// (read-only root, no capabilities, no-new-privileges, uid 10001, HOME=/tmp, no network), their
// tools must work. The images are built by CI before the tests (`airlock image build --offline`,
// `airlock image build --desktop --offline`); they are never rebuilt here.
// AIRLOCK_TEST_BASE_IMAGE=<tag> and AIRLOCK_TEST_DESKTOP_IMAGE=<tag> run the same checks against a
// candidate build under another tag.
import fs from 'node:fs';
import path from 'node:path';
import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { resolveEngineEndpoint } from '../../main/core/engine/connection.js';
import { parseNodeVersionFile } from '../../main/core/images/image-node.js';
import { BASE_IMAGE as DEFAULT_BASE_IMAGE, BASE_REVISION, BASE_REVISION_LABEL, DESKTOP_IMAGE as DEFAULT_DESKTOP_IMAGE, NODE_VERSION_LABEL, NPM_VERSION_LABEL, imageStatus } from '../../main/core/images/images.js';
import { parseNpmVersionFile } from '../../main/core/images/image-npm.js';

const BASE_IMAGE = process.env.AIRLOCK_TEST_BASE_IMAGE || DEFAULT_BASE_IMAGE;
const DESKTOP_IMAGE = process.env.AIRLOCK_TEST_DESKTOP_IMAGE || DEFAULT_DESKTOP_IMAGE;
const docker = new Dockerode(resolveEngineEndpoint().options);
const nodeVersion = parseNodeVersionFile(fs.readFileSync(path.resolve('assets/images/agent-base/node-version.txt'), 'utf8')).version;
const npmVersion = parseNpmVersionFile(fs.readFileSync(path.resolve('assets/images/agent-base/npm-version.txt'), 'utf8')).version;

async function availability(image: string, build: string): Promise<string | undefined> {
  try {
    await docker.ping();
  } catch {
    return 'no Docker engine reachable';
  }
  return (await imageStatus(docker, image)).present ? undefined : `${image} is not built (${build})`;
}

const missing = await availability(BASE_IMAGE, 'airlock image build --offline');
const desktopMissing = await availability(DESKTOP_IMAGE, 'airlock image build --desktop --offline');
// On CI the engine and the images are set up by .ci/run: a missing one is a failure, not a skip.
if (missing && process.env.CI) throw new Error(`integration tests need ${BASE_IMAGE}: ${missing}`);
if (desktopMissing && process.env.CI) throw new Error(`integration tests need ${DESKTOP_IMAGE}: ${desktopMissing}`);

/** Runs `script` with sh in a hardened container and returns its combined output; always removes it. */
async function runHardened(script: string, opts: { image?: string; memoryMb?: number; pids?: number; tmpMb?: number } = {}): Promise<{ exitCode: number; output: string }> {
  const memory = (opts.memoryMb ?? 256) * 1024 * 1024;
  const container = await docker.createContainer({
    Image: opts.image ?? BASE_IMAGE,
    Cmd: ['/bin/sh', '-c', script],
    User: '10001:10001',
    Env: ['HOME=/tmp'], // as the sandbox sets it (hardening.ts)
    Tty: true, // one plain output stream, no multiplexing headers
    Labels: { 'airlock.test': 'images' },
    NetworkDisabled: true,
    HostConfig: {
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Tmpfs: { '/tmp': `rw,exec,nosuid,nodev,size=${opts.tmpMb ?? 16}m`, '/workspace': 'rw,nosuid,nodev,size=16m,uid=10001,gid=10001,mode=0755' },
      NetworkMode: 'none',
      PidsLimit: opts.pids ?? 64,
      Memory: memory,
      MemorySwap: memory,
      Init: true,
    },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = await container.logs({ stdout: true, stderr: true });
    return { exitCode: StatusCode, output: logs.toString('utf8').replace(/\r\n/g, '\n') };
  } finally {
    await container.remove({ force: true });
  }
}

function field(output: string, key: string): string | undefined {
  return output.split('\n').find((line) => line.startsWith(`${key}=`))?.slice(key.length + 1).trim();
}

describe.skipIf(missing !== undefined)(`${BASE_IMAGE} (${missing ?? 'present'})`, () => {
  it('is reported present, with its id and size', async () => {
    const status = await imageStatus(docker, BASE_IMAGE);
    expect(status.present).toBe(true);
    expect(status.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(status.sizeBytes).toBeGreaterThan(50_000_000);
    expect(Date.parse(status.created!)).not.toBeNaN();
    expect(await imageStatus(docker, 'airlock/no-such-image:0')).toEqual({ ref: 'airlock/no-such-image:0', present: false });
  });

  it('declares a non-root user, the workspace and the airlock label in its config', async () => {
    const info = await docker.getImage(BASE_IMAGE).inspect();
    expect(info.Config.User).toBe('10001:10001');
    expect(info.Config.WorkingDir).toBe('/workspace');
    expect(info.Config.Labels?.['airlock.image']).toBe('agent-base');
    expect(info.Config.Labels?.[NODE_VERSION_LABEL], `${BASE_IMAGE} was built with another Node.js: rebuild it (airlock image build --offline)`).toBe(nodeVersion);
    expect(info.Config.Labels?.[BASE_REVISION_LABEL], `${BASE_IMAGE} is older than this Airlock: rebuild it (airlock image build --offline)`).toBe(String(BASE_REVISION));
    expect(info.Config.Labels?.[NPM_VERSION_LABEL]).toBe(npmVersion);
    expect(info.Config.Env).toEqual(expect.arrayContaining(['NODE_USE_ENV_PROXY=1', 'NODE_USE_SYSTEM_CA=1', 'NPM_CONFIG_PREFIX=/tmp/.npm-global', 'PIP_CERT=/etc/ssl/certs/ca-certificates.crt']));
    expect(info.Config.Env?.find((e) => e.startsWith('PATH='))).toMatch(/^PATH=\/usr\/local\/sbin:\/usr\/local\/bin:/);
  });

  it('runs node, python3, curl and git as uid 10001 on a read-only root with no capabilities', async () => {
    const { exitCode, output } = await runHardened([
      'echo uid=$(id -u) gid=$(id -g) user=$(id -un)',
      'echo pwd=$(pwd) home=$HOME passwd_home=$(getent passwd agent | cut -d: -f6)',
      'echo node_path=$(command -v node)',
      'echo node_version=$(node --version)',
      'echo node=$(NODE_USE_ENV_PROXY=1 node -e "console.log(process.versions.node)")',
      'echo node_debian=$(dpkg-query -W -f=\'${Status}\' nodejs 2>/dev/null | grep -c installed)',
      'echo python=$(python3 -c "print(6*7)")',
      'echo curl=$(curl --version | head -n1 | cut -d" " -f1,2)',
      'echo git=$(git --version)',
      'echo capeff=$(grep CapEff /proc/self/status | cut -f2)',
      'if touch /etc/airlock-probe 2>/dev/null; then echo rootfs=writable; else echo rootfs=read-only; fi',
      'echo scratch > /tmp/probe && echo tmp=$(cat /tmp/probe)',
      'mkdir -p /workspace/out && echo workspace=$(stat -c %u /workspace/out)',
    ].join('; '));
    expect(exitCode, output).toBe(0);
    expect(field(output, 'uid')).toBe('10001 gid=10001 user=agent');
    expect(field(output, 'pwd')).toBe('/workspace home=/tmp passwd_home=/home/agent');
    expect(field(output, 'node_path')).toBe('/usr/local/bin/node');
    expect(nodeVersion).toMatch(/^24\./);
    expect(field(output, 'node_version')).toBe(`v${nodeVersion}`);
    expect(field(output, 'node')).toBe(nodeVersion);
    expect(field(output, 'node_debian'), "Debian's nodejs must not be installed").toBe('0');
    expect(field(output, 'python')).toBe('42');
    expect(field(output, 'curl')).toMatch(/^curl \d+\.\d+/);
    expect(field(output, 'git')).toMatch(/^git version \d+\./);
    expect(field(output, 'capeff')).toBe('0000000000000000');
    expect(field(output, 'rootfs')).toBe('read-only');
    expect(field(output, 'tmp')).toBe('scratch');
    expect(field(output, 'workspace')).toBe('10001');
  });

  it('verifies TLS against the system CA bundle, and trusts an extra CA through the usual variables', async () => {
    // 127.0.0.1, not localhost: a container without networking gets an empty /etc/hosts.
    // A throwaway CA-less server on loopback: every client must refuse it by default (verification
    // on, system bundle only) and accept it once pointed at its certificate, the way the gateway's
    // per-task CA is trusted inside a sandbox.
    const get = {
      curl: 'curl -s -o /dev/null https://127.0.0.1:8443/',
      git: 'git ls-remote https://127.0.0.1:8443/repo 2>&1 | grep -q "certificate verification failed" && exit 1 || exit 0',
      node: `node -e "require('https').get('https://127.0.0.1:8443/', () => process.exit(0)).on('error', () => process.exit(1))"`,
      python: `python3 -c "import urllib.request; urllib.request.urlopen('https://127.0.0.1:8443/')" 2>/dev/null`,
      // Both get a page that is no registry: what tells is whether they got past TLS.
      npm: 'npm view x --fetch-retries=0 --registry https://127.0.0.1:8443/ 2>&1 | grep -qiE "certificate|self.signed|UNABLE_TO_VERIFY" && exit 1 || exit 0',
      pip: 'pip download --retries 0 -d /tmp/dl --index-url https://127.0.0.1:8443/simple x 2>&1 | grep -qiE "CERTIFICATE_VERIFY_FAILED|SSLError" && exit 1 || exit 0',
    };
    const { exitCode, output } = await runHardened([
      'cd /tmp',
      'openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=airlock-test -addext subjectAltName=IP:127.0.0.1 -days 1 2>/dev/null',
      'openssl s_server -quiet -accept 8443 -cert cert.pem -key key.pem -www </dev/null >/dev/null 2>&1 & srv=$!',
      'for i in $(seq 1 50); do curl -s -k -o /dev/null https://127.0.0.1:8443/ && break; sleep 0.1; done',
      'echo bundle=$(grep -c "BEGIN CERTIFICATE" /etc/ssl/certs/ca-certificates.crt)',
      `echo python_cas=$(python3 -c "import ssl; print(ssl.create_default_context().cert_store_stats()['x509_ca'])")`,
      'echo curl_cafile=$(curl -sv -o /dev/null https://127.0.0.1:8443/ 2>&1 | grep -o "CAfile: [^ ]*" | head -n1 | cut -d" " -f2)',
      ...Object.entries(get).map(([name, cmd]) => `(${cmd}) && echo ${name}_default=accepted || echo ${name}_default=refused`),
      `(CURL_CA_BUNDLE=/tmp/cert.pem ${get.curl}) && echo curl_extra=accepted || echo curl_extra=refused`,
      `(GIT_SSL_CAINFO=/tmp/cert.pem; export GIT_SSL_CAINFO; ${get.git}) && echo git_extra=accepted || echo git_extra=refused`,
      `(NODE_EXTRA_CA_CERTS=/tmp/cert.pem ${get.node}) && echo node_extra=accepted || echo node_extra=refused`,
      // The image sets NODE_USE_SYSTEM_CA=1: node trusts the system store (so SSL_CERT_FILE) like Debian's node did.
      `(SSL_CERT_FILE=/tmp/cert.pem ${get.node}) && echo node_system=accepted || echo node_system=refused`,
      `(SSL_CERT_FILE=/tmp/cert.pem ${get.python}) && echo python_extra=accepted || echo python_extra=refused`,
      // npm's requests are node's: the system store (NODE_USE_SYSTEM_CA), which the sandbox extends with the task's CA.
      `(${get.npm}) && echo npm_default=accepted || echo npm_default=refused`,
      `(SSL_CERT_FILE=/tmp/cert.pem ${get.npm}) && echo npm_system=accepted || echo npm_system=refused`,
      // pip: the bundle PIP_CERT names (the image's: the system bundle).
      `(${get.pip}) && echo pip_default=accepted || echo pip_default=refused`,
      `(PIP_CERT=/tmp/cert.pem ${get.pip}) && echo pip_extra=accepted || echo pip_extra=refused`,
      'kill $srv',
    ].join('\n'));
    expect(exitCode, output).toBe(0);
    const bundle = Number(field(output, 'bundle'));
    expect(bundle, output).toBeGreaterThan(100);
    expect(Number(field(output, 'python_cas')), output).toBe(bundle);
    expect(field(output, 'curl_cafile'), output).toBe('/etc/ssl/certs/ca-certificates.crt');
    for (const client of ['curl', 'git', 'node', 'python']) {
      expect(field(output, `${client}_default`), `${client} by default\n${output}`).toBe('refused');
      expect(field(output, `${client}_extra`), `${client} with the extra CA\n${output}`).toBe('accepted');
    }
    expect(field(output, 'node_system'), `node with SSL_CERT_FILE\n${output}`).toBe('accepted');
    for (const client of ['npm', 'pip']) expect(field(output, `${client}_default`), `${client} by default\n${output}`).toBe('refused');
    expect(field(output, 'npm_system'), `npm with SSL_CERT_FILE\n${output}`).toBe('accepted');
    expect(field(output, 'pip_extra'), `pip with PIP_CERT\n${output}`).toBe('accepted');
  });

  it('runs npm, npx and pip as the agent: installs land in HOME, commands on PATH', async () => {
    const { exitCode, output } = await runHardened([
      'echo npm=$(npm --version) npx=$(npx --version) npm_path=$(command -v npm)',
      'echo pip=$(pip --version | cut -d" " -f1,2) venv=$(python3 -m venv /tmp/v >/dev/null && /tmp/v/bin/python -m pip --version | cut -d" " -f1)',
      'echo npm_prefix=$(npm config get prefix) npm_cache=$(npm config get cache)',
      'echo pip_user=$(python3 -m site --user-base)',
    ].join('; '), { tmpMb: 64 });
    expect(exitCode, output).toBe(0);
    expect(field(output, 'npm')).toBe(`${npmVersion} npx=${npmVersion} npm_path=/usr/local/bin/npm`);
    expect(field(output, 'pip')).toMatch(/^pip \d+\.\d+(\.\d+)? venv=pip$/);
    expect(field(output, 'npm_prefix')).toBe('/tmp/.npm-global npm_cache=/tmp/.npm');
    expect(field(output, 'pip_user')).toBe('/tmp/.local');
  });

  it("sends node's fetch and http through HTTP(S)_PROXY, honouring NO_PROXY", async () => {
    // A stand-in for Airlock's egress proxy on loopback. Undici (fetch) tunnels even plain HTTP
    // through CONNECT; node:http sends absolute-form requests. *.test names resolve nowhere here,
    // so an answer for one proves the request went through the proxy.
    const proxy = [
      "const http = require('node:http');",
      'const server = http.createServer((req, res) => {',
      '  console.log(`${req.method} ${req.url}`);',
      '  res.end(`served ${req.method} ${req.headers.host}${req.url.replace(/^http:\\/\\/[^/]+/, "")}`);',
      '});',
      "server.on('connect', (req, socket, head) => {",
      '  console.log(`CONNECT ${req.url}`);',
      "  if (req.url.endsWith(':443')) return socket.end('HTTP/1.1 403 Forbidden\\r\\nContent-Length: 0\\r\\n\\r\\n');",
      "  socket.write('HTTP/1.1 200 Connection Established\\r\\n\\r\\n');",
      '  if (head.length) socket.unshift(head);',
      "  server.emit('connection', socket);",
      '});',
      "server.listen(3128, '127.0.0.1');",
    ].join('\n');
    const text = (call: string) => `${call}.then((r) => r.text()).then(console.log, (e) => console.log('failed', e.cause?.code ?? e.message))`;
    const { exitCode, output } = await runHardened([
      'cd /tmp',
      `cat > proxy.js <<'EOF'\n${proxy}\nEOF`,
      'node proxy.js > proxy.log 2>&1 & srv=$!',
      'for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:3128/ && break; sleep 0.1; done',
      'export HTTP_PROXY=http://127.0.0.1:3128 HTTPS_PROXY=http://127.0.0.1:3128 NO_PROXY=localhost',
      `echo fetch=$(NODE_USE_ENV_PROXY=1 node -e "${text("fetch('http://agent.test/a?b=1')")}")`,
      `echo http=$(NODE_USE_ENV_PROXY=1 node -e "require('node:http').get('http://agent.test/b', (r) => r.setEncoding('utf8').on('data', console.log)).on('error', (e) => console.log('failed', e.code))")`,
      `echo https=$(NODE_USE_ENV_PROXY=1 node -e "fetch('https://agent.test/c').then(() => console.log('reached'), () => console.log('refused'))")`,
      `echo image_default=$(node -e "${text("fetch('http://agent.test/d')")}")`,
      `echo no_proxy=$(NO_PROXY=127.0.0.1 NODE_USE_ENV_PROXY=1 node -e "${text("fetch('http://127.0.0.1:3128/direct')")}")`,
      `echo without=$(env -u NODE_USE_ENV_PROXY node -e "${text("fetch('http://agent.test/e')")}")`,
      'kill $srv',
      'echo proxy_log=$(cat proxy.log | tr "\\n" ";")',
    ].join('\n'));
    expect(exitCode, output).toBe(0);
    expect(field(output, 'fetch'), output).toBe('served GET agent.test/a?b=1');
    expect(field(output, 'http'), output).toBe('served GET agent.test/b');
    expect(field(output, 'https'), output).toBe('refused');
    expect(field(output, 'image_default'), output).toBe('served GET agent.test/d');
    expect(field(output, 'no_proxy'), output).toBe('served GET 127.0.0.1:3128/direct');
    expect(field(output, 'without'), output).toMatch(/^failed (EAI_AGAIN|ENOTFOUND)$/);
    const log = field(output, 'proxy_log')!.split(';').map((l) => l.trim()).filter((l) => l !== '' && l !== 'GET /');
    expect(log, output).toEqual(['CONNECT agent.test:80', 'GET /a?b=1', 'GET http://agent.test/b', 'CONNECT agent.test:443', 'CONNECT agent.test:80', 'GET /d', 'GET /direct']);
  });
});

describe.skipIf(desktopMissing !== undefined)(`${DESKTOP_IMAGE} (${desktopMissing ?? 'present'})`, () => {
  it('is reported present, non-root in its config, with its own label and the base Node.js', async () => {
    const status = await imageStatus(docker, DESKTOP_IMAGE);
    expect(status.present).toBe(true);
    expect(status.sizeBytes).toBeGreaterThan((await imageStatus(docker, BASE_IMAGE)).sizeBytes ?? 0);
    const info = await docker.getImage(DESKTOP_IMAGE).inspect();
    expect(info.Config.User).toBe('10001:10001');
    expect(info.Config.WorkingDir).toBe('/workspace');
    expect(info.Config.Labels?.['airlock.image']).toBe('agent-desktop');
    expect(info.Config.Labels?.[NODE_VERSION_LABEL], `${DESKTOP_IMAGE} was built with another Node.js: rebuild it (airlock image build --desktop --offline)`).toBe(nodeVersion);
    expect(info.Config.Env).toEqual(expect.arrayContaining(['NODE_USE_ENV_PROXY=1', 'NODE_USE_SYSTEM_CA=1']));
  });

  it('has the desktop tools, the launcher and node 24, as uid 10001 on a read-only root', async () => {
    const tools = ['Xvfb', 'chromium', 'x11vnc', 'socat', 'certutil', 'xdotool', 'matchbox-window-manager', 'xdpyinfo', 'airlock-desktop', 'node'];
    const { exitCode, output } = await runHardened([
      'echo uid=$(id -u) gid=$(id -g) user=$(id -un)',
      ...tools.map((tool) => `echo path_${tool}=$(command -v ${tool})`),
      'echo launcher=$(stat -c "%a %U" /usr/local/bin/airlock-desktop)',
      'echo node_version=$(node --version)',
      'echo chromium=$(chromium --version)',
      'echo fonts=$(fc-list | grep -c DejaVu)',
      'echo apt_cache=$(find /var/cache/apt/archives -name "*.deb" 2>/dev/null | wc -l)',
      'echo capeff=$(grep CapEff /proc/self/status | cut -f2)',
    ].join('; '), { image: DESKTOP_IMAGE });
    expect(exitCode, output).toBe(0);
    expect(field(output, 'uid')).toBe('10001 gid=10001 user=agent');
    for (const tool of tools) expect(field(output, `path_${tool}`), `${tool}\n${output}`).toMatch(/^\/usr\/(local\/)?bin\//);
    expect(field(output, 'path_airlock-desktop')).toBe('/usr/local/bin/airlock-desktop');
    expect(field(output, 'path_node')).toBe('/usr/local/bin/node');
    expect(field(output, 'launcher')).toBe('755 root');
    expect(field(output, 'node_version')).toBe(`v${nodeVersion}`);
    expect(field(output, 'chromium')).toMatch(/^Chromium \d+\./);
    expect(Number(field(output, 'fonts'))).toBeGreaterThan(0);
    expect(field(output, 'apt_cache'), 'no downloaded .deb files left in the image').toBe('0');
    expect(field(output, 'capeff')).toBe('0000000000000000');
  });

  it('starts the screen, the window manager and Chromium with airlock-desktop, and serves the screen over RFB', async () => {
    // The launcher as a display task runs it, with the task CA for Chromium's NSS store.
    const { exitCode, output } = await runHardened([
      'cd /tmp',
      'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -subj /CN=airlock-test-ca -days 1 2>/dev/null',
      `AIRLOCK_DISPLAY=1024x768 AIRLOCK_TASK_CA=/tmp/ca.pem airlock-desktop run sh -c '${[
        'echo display=$DISPLAY cdp=$AIRLOCK_CDP_URL',
        'echo screen=$(xdpyinfo | grep dimensions | tr -s " " | cut -d" " -f3)',
        'echo browser=$(curl -s --noproxy "*" $AIRLOCK_CDP_URL/json/version | grep -o "\\"Browser\\": \\"[^\\"]*" | cut -d\\" -f4)',
        'echo ca=$(certutil -d sql:$HOME/.pki/nssdb -L | grep -c "Airlock task CA")',
        'echo rfb=$(sleep 1 | airlock-desktop vnc | head -c 12)',
      ].join('; ')}'`,
    ].join('\n'), { image: DESKTOP_IMAGE, memoryMb: 1024, pids: 256, tmpMb: 256 });
    expect(exitCode, output).toBe(0);
    expect(field(output, 'display'), output).toBe(':99 cdp=http://127.0.0.1:9222');
    expect(field(output, 'screen'), output).toBe('1024x768');
    expect(field(output, 'browser'), output).toMatch(/^Chrome\/\d+\./);
    expect(field(output, 'ca'), output).toBe('1');
    expect(field(output, 'rfb'), output).toBe('RFB 003.008');
  }, 60_000);
});
