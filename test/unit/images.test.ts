import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assertOfflineBuildPossible,
  configFromDockerfile,
  mmdebstrapArgs,
  mountsBelow,
  parsePackageList,
  removeScratchDir,
  runMmdebstrap,
  shellQuote,
  suiteFromDockerfile,
} from '../../main/core/engine/image-offline.js';
import { DockerStreamReader, LineSplitter, parseMmdebstrapLine, type BuildMessageResult, type ImageProgress } from '../../main/core/engine/image-progress.js';

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
    expect(packages).toEqual(expect.arrayContaining(['ca-certificates', 'curl', 'git', 'python3', 'nodejs']));
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
