import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from './env.js';

export interface SshdOptions {
  /** The address sshd listens on (default 127.0.0.1: loopback only). */
  listen?: string;
  /** What every login runs (the authorized_keys forced command); default the local engine's dial-stdio. */
  forcedCommand?: string;
  /** Runs sshd under a prefix, e.g. ['ip', 'netns', 'exec', 'ns'] for a namespace of the test's. */
  prefix?: string[];
}

export interface Sshd {
  /** The pretend remote's name: the ssh wrapper's config maps it to the listening address. */
  host: string;
  port: number;
  user: string;
  /** DOCKER_HOST for it: ssh://user@host (the port comes from the wrapper's config). */
  url: string;
  /** The folder holding `ssh`, the real client with this sshd's config (-F): put it first on PATH. */
  bin: string;
  /** `env` with PATH starting at `bin`. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  dir: string;
  knownHosts: string;
  /** A key sshd does not accept, and the wrapper's config line naming the key in use. */
  useKey(which: 'authorized' | 'stranger'): void;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

/**
 * A real OpenSSH server on a loopback port for the test's own keys: a throwaway host key, a user
 * key whose authorized_keys line forces `docker system dial-stdio` (and `restrict`s everything
 * else), no passwords. The client side is the real ssh binary with a config file of the test's,
 * through a wrapper script first on PATH, so the user's ~/.ssh is neither read nor written.
 */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  if (!fs.existsSync(SSHD)) throw new Error('sshd is not installed: `apt-get install openssh-server` (.ci/run installs it)');
  const dir = tempDir('airlock-sshd-');
  const key = (name: string) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path.join(dir, name)]);
    return fs.readFileSync(path.join(dir, `${name}.pub`), 'utf8').trim();
  };
  const hostKey = key('host_key');
  const userKey = key('user_key');
  key('stranger_key');
  const user = os.userInfo().username;
  const listen = options.listen ?? '127.0.0.1';
  const port = await freePort('127.0.0.1'); // free here; a namespace of the test's has nothing on it yet
  const docker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
  const forced = options.forcedCommand ?? `${docker} -H unix:///var/run/docker.sock system dial-stdio`;
  fs.writeFileSync(path.join(dir, 'authorized_keys'), `command="${forced}",restrict ${userKey}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'sshd_config'), [
    `Port ${port}`, `ListenAddress ${listen}`, `HostKey ${path.join(dir, 'host_key')}`, `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`, 'AuthenticationMethods publickey', 'PasswordAuthentication no',
    'KbdInteractiveAuthentication no', 'PermitRootLogin forced-commands-only', 'UsePAM no', 'StrictModes no', 'PrintMotd no',
    'AllowTcpForwarding no', 'X11Forwarding no', 'MaxStartups 100', 'LogLevel VERBOSE', '',
  ].join('\n'));
  const host = 'airlock-sshd.test';
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, `${host} ${hostKey.split(' ').slice(0, 2).join(' ')}\n`);
  const config = path.join(dir, 'ssh_config');
  const writeConfig = (identity: string) => fs.writeFileSync(config, [
    `Host ${host}`, `  HostName ${listen}`, `  Port ${port}`, `  HostKeyAlias ${host}`, `  IdentityFile ${path.join(dir, identity)}`,
    '  IdentitiesOnly yes', `  UserKnownHostsFile ${knownHosts}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes',
    '  CheckHostIP no', '  IdentityAgent none', '  LogLevel ERROR', '',
  ].join('\n'));
  writeConfig('user_key');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${config} "$@"\n`, { mode: 0o755 });
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation

  const prefix = options.prefix ?? [];
  const child = spawn(prefix[0] ?? SSHD, [...prefix.slice(1), ...(prefix.length ? [SSHD] : []), '-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  await listening(child, dir);
  return {
    host, port, user, url: `ssh://${user}@${host}`, bin, dir, knownHosts,
    env: (base = process.env) => ({ ...base, PATH: `${bin}:${base.PATH ?? ''}` }),
    useKey: (which) => writeConfig(which === 'authorized' ? 'user_key' : 'stranger_key'),
    stop: () => stop(child),
  };
}

/** Waits for sshd's "Server listening" line; keeps its log in sshd.log for a failing test to read. */
function listening(child: ChildProcess, dir: string): Promise<void> {
  const log = fs.createWriteStream(path.join(dir, 'sshd.log'));
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      seen += chunk.toString();
      if (/Server listening/.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sshd exited (${code}): ${seen.trim()}`)));
    child.once('error', reject);
  });
}

/** Stops sshd and the sessions it forked (each a child of the listener: a stopped listener leaves them). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const sessions = childrenOf(child.pid!);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  for (const pid of sessions) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

function childrenOf(parent: number): number[] {
  return fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
    try {
      // The fields after the command's closing parenthesis: state, then the parent's pid.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
    } catch {
      return false;
    }
  }).map(Number);
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
