import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A second Docker engine on this machine that behaves like a remote one: dockerd in a network
 * namespace of its own, reachable from the host only over a veth pair (addresses from a /30 of
 * 10.213.0.0/16 picked per run), listening only on TCP with --tlsverify and client certificates
 * made now. It runs in a mount namespace where /tmp, /work and /home are empty tmpfs, so a host
 * path handed to it (a bind mount) fails as it would on another machine.
 *
 * Its data-root is cached under $AIRLOCK_CI_CACHE/remote-engine/<key> (default /opt/airlock-ci),
 * keyed by the ids of the images loaded into it and the dockerd version: a second run reuses the
 * loaded images; a changed image makes a new key and the old cache is removed. The engine is left
 * with images only (containers, volumes and networks removed) when stopped.
 */
export interface RemoteEngine {
  /** tcp://<address>:2376 */
  host: string;
  /** The docker CLI's variables for it: DOCKER_HOST, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH. */
  env: { DOCKER_HOST: string; DOCKER_TLS_VERIFY: '1'; DOCKER_CERT_PATH: string };
  /** Its address inside the namespace, and the host's end of the veth. */
  address: string;
  hostAddress: string;
  netns: string;
  dataRoot: string;
  /** Where its certificates, exec-root and log are (removed by stop). */
  runDir: string;
  /** `docker system dial-stdio` to this engine over TLS: an sshd's forced command makes it an ssh:// engine. */
  dialStdio: string;
  /** Seconds spent loading images (0 when the cache had them). */
  loadSeconds: number;
  /** The docker CLI against this engine; throws with its stderr on failure. */
  docker(args: string[], input?: string): string;
  /** Runs `command` inside the engine's network namespace (e.g. an sshd for ssh:// tests). */
  inNamespace(command: string[]): ChildProcess;
  stop(): Promise<void>;
}

const CACHE = process.env.AIRLOCK_CI_CACHE ?? '/opt/airlock-ci';
const HIDDEN = ['/tmp', '/work', '/home'];
const PORT = 2376;

function run(cmd: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input: options.input, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(failed.stderr || failed.message).trim()}`, { cause: error });
  }
}

/** A /30 of 10.213.0.0/16 that no address or route of the host already uses. */
function pickSubnet(): { hostAddress: string; address: string } {
  const used = run('ip', ['-4', '-o', 'addr']) + run('ip', ['-4', 'route']);
  for (let attempt = 0; attempt < 64; attempt++) {
    const third = randomBytes(1)[0]!;
    const base = randomBytes(1)[0]! & 0xfc;
    const prefix = `10.213.${third}.`;
    if (used.includes(`${prefix}${base + 1}`) || used.includes(`${prefix}${base + 2}`)) continue;
    return { hostAddress: `${prefix}${base + 1}`, address: `${prefix}${base + 2}` };
  }
  throw new Error('no free /30 in 10.213.0.0/16');
}

/** A CA, a server certificate for `address` and a client certificate, as the docker CLI expects them. */
function makeCertificates(dir: string, address: string): { client: string; server: string } {
  const client = path.join(dir, 'client');
  const server = path.join(dir, 'server');
  fs.mkdirSync(client, { recursive: true, mode: 0o700 });
  fs.mkdirSync(server, { recursive: true, mode: 0o700 });
  const ca = { key: path.join(dir, 'ca-key.pem'), cert: path.join(server, 'ca.pem') };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('openssl', ['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=airlock test remote engine CA', '-keyout', ca.key, '-out', ca.cert]);
  const issue = (out: string, subject: string, extensions: string) => {
    const ext = path.join(dir, `${path.basename(out)}.ext`);
    fs.writeFileSync(ext, extensions);
    run('openssl', ['req', ...ec, '-subj', subject, '-keyout', path.join(out, 'key.pem'), '-out', path.join(dir, 'req.csr')]);
    run('openssl', ['x509', '-req', '-in', path.join(dir, 'req.csr'), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1',
      '-extfile', ext, '-out', path.join(out, 'cert.pem')]);
  };
  issue(server, `/CN=${address}`, `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\n`);
  issue(client, '/CN=airlock-test-client', 'extendedKeyUsage=clientAuth\n');
  fs.copyFileSync(ca.cert, path.join(client, 'ca.pem'));
  return { client, server };
}

function imageIds(images: string[]): string[] {
  return images.map((image) => run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]).trim());
}

interface Holder { pid: number; netns?: string; runDir?: string; dataRoot?: string }

/**
 * Holds the cache dir for this process (two engines on one data-root would corrupt it). A holder
 * that died without tearing down (a killed test run) leaves its engine behind: stopped here.
 */
function lockCache(dir: string): { record(holder: Holder): void; release(): void } {
  const lock = path.join(dir, 'lock');
  fs.mkdirSync(dir, { recursive: true });
  const record = (holder: Holder) => fs.writeFileSync(lock, JSON.stringify(holder));
  try {
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid }), { flag: 'wx' });
  } catch {
    const holder = JSON.parse(fs.readFileSync(lock, 'utf8')) as Holder;
    if (holder.pid !== process.pid && alive(holder.pid)) throw new Error(`the remote engine's cache ${dir} is in use by process ${holder.pid}`);
    removeLeftEngine(holder);
    record({ pid: process.pid });
  }
  return { record, release: () => fs.rmSync(lock, { force: true }) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A dead holder's dockerd, containerd and shims (the processes whose command line names its run dir), namespace and run dir. */
function removeLeftEngine(holder: Holder): void {
  if (!holder.runDir?.startsWith('/run/airlock-remote-')) return;
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(holder.runDir)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  // Its containers' processes outlive their shims: killed by the containers' cgroups (ids from the data-root).
  const ids = holder.dataRoot && fs.existsSync(path.join(holder.dataRoot, 'containers')) ? fs.readdirSync(path.join(holder.dataRoot, 'containers')) : [];
  for (const id of ids.filter((name) => /^[0-9a-f]{64}$/.test(name))) {
    for (const cgroup of [`/sys/fs/cgroup/pids/docker/${id}`, `/sys/fs/cgroup/docker/${id}`]) {
      try {
        for (const pid of fs.readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // not this hierarchy, or not running
      }
    }
  }
  if (holder.netns?.startsWith('airlock-re-')) {
    // Whatever else ran in its namespace (an sshd of the tests) goes with it.
    const pids = spawnSync('ip', ['netns', 'pids', holder.netns], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    spawnSync('ip', ['netns', 'del', holder.netns], { stdio: 'ignore' });
  }
  fs.rmSync(holder.runDir, { recursive: true, force: true });
}

async function waitUntil(ready: () => boolean, what: string, timeoutMs: number, alive: () => boolean, log: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ready()) return;
    if (!alive()) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s:\n${tail}`);
}

export async function startRemoteEngine(options: { images: string[] }): Promise<RemoteEngine> {
  const ids = imageIds(options.images);
  const version = run('dockerd', ['--version']).trim();
  const key = createHash('sha256').update(JSON.stringify({ ids, version })).digest('hex').slice(0, 16);
  const cacheRoot = path.join(CACHE, 'remote-engine');
  const cacheDir = path.join(cacheRoot, key);
  const lock = lockCache(cacheDir);
  // Caches of other images: gone (one cache at a time bounds the disk it takes).
  for (const other of fs.readdirSync(cacheRoot)) if (other !== key) fs.rmSync(path.join(cacheRoot, other), { recursive: true, force: true });

  const id = randomBytes(3).toString('hex');
  const netns = `airlock-re-${id}`;
  const veth = { host: `alre${id}`, peer: `alrp${id}` };
  // Outside the hidden folders: dockerd must see its own exec-root and the server's certificates.
  const runDir = fs.mkdtempSync('/run/airlock-remote-');
  const dataRoot = path.join(cacheDir, 'data-root');
  const { hostAddress, address } = pickSubnet();
  lock.record({ pid: process.pid, netns, runDir, dataRoot });
  const undo: (() => void)[] = [lock.release, () => fs.rmSync(runDir, { recursive: true, force: true })];
  let dockerd: ChildProcess | undefined;
  const stop = async () => {
    if (dockerd && dockerd.exitCode === null && dockerd.signalCode === null) {
      const exited = new Promise((resolve) => dockerd!.once('exit', resolve));
      dockerd.kill('SIGTERM');
      const killer = setTimeout(() => dockerd!.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    }
    // dockerd stops the containerd it started; one left by a killed dockerd is stopped here.
    const containerdPid = path.join(runDir, 'exec', 'containerd', 'containerd.pid');
    if (fs.existsSync(containerdPid)) {
      try {
        process.kill(Number(fs.readFileSync(containerdPid, 'utf8')), 'SIGTERM');
      } catch {
        // already gone
      }
    }
    for (const step of undo.splice(0).reverse()) {
      try {
        step();
      } catch {
        // keep tearing down the rest
      }
    }
  };

  try {
    run('ip', ['netns', 'add', netns]);
    undo.push(() => run('ip', ['netns', 'del', netns])); // removes the veth pair with it
    run('ip', ['link', 'add', veth.host, 'type', 'veth', 'peer', 'name', veth.peer]);
    run('ip', ['link', 'set', veth.peer, 'netns', netns]);
    run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', veth.host]);
    run('ip', ['link', 'set', veth.host, 'up']);
    const inNs = (args: string[]) => run('ip', ['netns', 'exec', netns, ...args]);
    inNs(['ip', 'addr', 'add', `${address}/30`, 'dev', veth.peer]);
    inNs(['ip', 'link', 'set', veth.peer, 'up']);
    inNs(['ip', 'link', 'set', 'lo', 'up']);

    const certs = makeCertificates(runDir, address);
    const config = path.join(runDir, 'daemon.json');
    fs.writeFileSync(config, '{}\n'); // not the host's /etc/docker/daemon.json
    const log = path.join(runDir, 'dockerd.log');
    const dockerdArgs = [
      '--data-root', dataRoot, '--exec-root', path.join(runDir, 'exec'), '--pidfile', path.join(runDir, 'dockerd.pid'),
      '--config-file', config, '-H', `tcp://${address}:${PORT}`, '--tlsverify',
      '--tlscacert', path.join(certs.server, 'ca.pem'), '--tlscert', path.join(certs.server, 'cert.pem'), '--tlskey', path.join(certs.server, 'key.pem'),
      '--log-level', 'warn',
    ];
    // A mount namespace of its own: sysfs of its network namespace (with the host's cgroups bound
    // back in: dockerd needs them), and the host's folders hidden.
    const cgroups = path.join(runDir, 'cgroup');
    fs.mkdirSync(cgroups);
    const setup = [
      `mount --rbind /sys/fs/cgroup ${cgroups}`, 'mount -t sysfs none /sys', `mount --rbind ${cgroups} /sys/fs/cgroup`,
      ...HIDDEN.filter((dir) => fs.existsSync(dir)).map((dir) => `mount -t tmpfs -o size=1m,mode=755 none ${dir}`),
    ].join(' && ');
    const logFd = fs.openSync(log, 'a');
    dockerd = spawn('nsenter', [`--net=/run/netns/${netns}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${setup} && exec dockerd "$@"`, 'sh', ...dockerdArgs],
      { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);

    const env = { DOCKER_HOST: `tcp://${address}:${PORT}`, DOCKER_TLS_VERIFY: '1' as const, DOCKER_CERT_PATH: certs.client };
    const cliEnv = { ...process.env, ...env, DOCKER_CONTEXT: '' };
    const docker = (args: string[], input?: string) => run('docker', args, { input, env: cliEnv });
    const answers = () => {
      try {
        docker(['version', '--format', '{{.Server.Version}}']);
        return true;
      } catch {
        return false;
      }
    };
    await waitUntil(answers, 'the remote dockerd answering over TLS', 60_000, () => dockerd!.exitCode === null, log);

    removeAllContainers(docker); // what a killed run left in the cached data-root
    const loadStarted = Date.now();
    const have = new Set(docker(['image', 'ls', '--no-trunc', '--format', '{{.ID}}']).split('\n'));
    const missing = options.images.filter((_, i) => !have.has(ids[i]!));
    if (missing.length > 0) await loadImages(missing, cliEnv);
    const loadSeconds = missing.length > 0 ? (Date.now() - loadStarted) / 1000 : 0;

    return {
      host: env.DOCKER_HOST, env, address, hostAddress, netns, dataRoot, runDir, loadSeconds, docker,
      dialStdio: `/usr/bin/env ${Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ')} ${run('sh', ['-c', 'command -v docker']).trim()} system dial-stdio`,
      inNamespace: (command) => spawn('ip', ['netns', 'exec', netns, ...command], { stdio: ['ignore', 'pipe', 'pipe'] }),
      stop: async () => {
        // Only images stay in the cache: whatever a test left is removed (this engine is ours alone).
        try {
          removeAllContainers(docker);
        } finally {
          await stop();
        }
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Containers, volumes and networks of the remote engine (ours alone): the cache keeps images only. */
function removeAllContainers(docker: RemoteEngine['docker']): void {
  const left = docker(['ps', '-aq']).split('\n').filter(Boolean);
  if (left.length > 0) docker(['rm', '-f', '-v', ...left]);
  docker(['volume', 'prune', '-f']);
  docker(['network', 'prune', '-f']);
}

/** `docker save … | docker load` into the remote engine. */
async function loadImages(images: string[], remoteEnv: NodeJS.ProcessEnv): Promise<void> {
  const save = spawn('docker', ['save', ...images], { stdio: ['ignore', 'pipe', 'pipe'] });
  const load = spawn('docker', ['load', '--quiet'], { env: remoteEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let errors = '';
  for (const child of [save, load]) child.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
  save.stdout!.pipe(load.stdin!);
  const exit = (child: ChildProcess) => new Promise<number | null>((resolve, reject) => (child.on('error', reject), child.on('close', resolve)));
  const codes = await Promise.all([exit(save), exit(load)]);
  if (codes.some((code) => code !== 0)) throw new Error(`loading ${images.join(', ')} into the remote engine failed: ${errors.trim()}`);
}
