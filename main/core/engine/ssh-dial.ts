/**
 * `ssh://[user@]host[:port]` engines, as the docker CLI reaches them: every HTTP connection is an
 * `ssh … -- host docker system dial-stdio` process (the user's own ssh client, keys, agent and
 * known_hosts; no ssh library), its stdin/stdout the connection. ssh's complaints become one line
 * with the fix.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { AirlockError } from '../errors.js';

export interface SshSpec {
  user?: string;
  host: string;
  port?: string;
}

export interface SshDialDeps {
  /** The ssh client (default `ssh` from PATH). */
  command?: string;
  /** Its environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Seconds between ssh's keepalives; three unanswered end the session (default 10: a dead remote noticed within ~30 s). */
  aliveIntervalSeconds?: number;
}

/** A host name, an IPv4 address or a bracketed IPv6 one; nothing ssh or a shell could read as more. */
const SSH_HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?|\[[0-9A-Fa-f:.]+\])$/;
/** A login name (empty: ssh's default user); "\\" and "@" for directory users (DOMAIN\\ada, ada@corp.test). */
const SSH_USER = /^(?:[A-Za-z0-9_.][A-Za-z0-9_.@\\-]*)?$/;

/** As docker/cli's connhelper/ssh ParseURL: no password, path, query or fragment; nothing ssh could take for an option. */
export function parseSshUrl(value: string, where: string): SshSpec {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badSsh(value, where, 'it is not a URL');
  }
  if (url.password) throw badSsh(value, where, 'a password in the URL is not supported');
  if (!url.hostname) throw badSsh(value, where, 'it names no host');
  let user: string;
  try {
    user = decodeURIComponent(url.username);
  } catch {
    throw badSsh(value, where, 'the host or user is not a name');
  }
  // A host or user starting with "-" would be read by ssh as an option (-oProxyCommand=…); shell
  // characters reach a shell through %h and %r in ProxyCommand or Match exec of the user's ssh config
  // (CVE-2023-51385: only OpenSSH 9.6 and later refuse them itself).
  if (!SSH_HOST.test(url.hostname) || !SSH_USER.test(user)) throw badSsh(value, where, 'the host or user is not a name');
  if (url.pathname && url.pathname !== '/') throw badSsh(value, where, 'a path after the host is not supported');
  if (url.search || url.hash) throw badSsh(value, where, 'a query or fragment after the host is not supported');
  return { user: user || undefined, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || undefined };
}

/**
 * The ssh arguments for one connection: never a prompt (BatchMode), no tty, a bounded connect; with
 * `controlPath`, connections share one ssh session (ControlMaster), which lingers 30 s when idle.
 */
export function sshArgs(spec: SshSpec, controlPath?: string, aliveIntervalSeconds = 10): string[] {
  // Keepalives: a remote that stops answering (a dropped network, a frozen host) would otherwise hold every call on it for good.
  const args = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-o', `ServerAliveInterval=${aliveIntervalSeconds}`, '-o', 'ServerAliveCountMax=3', '-T'];
  if (controlPath) args.push('-o', 'ControlMaster=auto', '-o', `ControlPath=${controlPath}`, '-o', 'ControlPersist=30');
  return [...args, ...targetArgs(spec), 'docker', 'system', 'dial-stdio'];
}

/** Who to reach, the host after `--` so that nothing in it is read as an option. */
function targetArgs(spec: SshSpec): string[] {
  return [...(spec.user ? ['-l', spec.user] : []), ...(spec.port ? ['-p', spec.port] : []), '--', spec.host];
}

export function describeSsh(spec: SshSpec): string {
  return `${spec.user ? `${spec.user}@` : ''}${spec.host}${spec.port ? `:${spec.port}` : ''}`;
}

/**
 * An http.Agent whose connections are ssh processes running `docker system dial-stdio` remotely,
 * multiplexed over one ssh session whose control socket is in a folder of this process's (0700).
 */
export class SshAgent extends http.Agent {
  readonly spec: SshSpec;
  private readonly deps: SshDialDeps;
  private controlDir: string | undefined;

  constructor(spec: SshSpec, deps: SshDialDeps = {}) {
    // Kept alive: one ssh handshake serves many API calls; an idle one is closed after 15 s.
    super({ keepAlive: true, maxFreeSockets: 4, timeout: 15_000 });
    this.spec = spec;
    this.deps = deps;
  }

  override createConnection(): Duplex {
    if (!this.controlDir) {
      this.controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-ssh-'));
      process.once('exit', this.endAtExit);
    }
    const child = spawn(this.deps.command ?? 'ssh', sshArgs(this.spec, this.controlPath(), this.deps.aliveIntervalSeconds), { stdio: ['pipe', 'pipe', 'pipe'], env: this.deps.env ?? process.env });
    return new SshConnection(child, this.spec);
  }

  /** Closes the connections and ends the shared ssh session now, rather than 30 s later. */
  async close(): Promise<void> {
    this.destroy();
    const dir = this.controlDir;
    if (!dir) return;
    this.controlDir = undefined;
    process.removeListener('exit', this.endAtExit);
    await new Promise<void>((resolve) => {
      const exit = spawn(this.deps.command ?? 'ssh', this.exitArgs(dir), { stdio: 'ignore', env: this.deps.env ?? process.env });
      exit.once('error', () => resolve());
      exit.once('exit', () => resolve());
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }

  /** A process that exits without close() still ends the session and leaves no folder behind. */
  private readonly endAtExit = (): void => {
    const dir = this.controlDir;
    if (!dir) return;
    spawnSync(this.deps.command ?? 'ssh', this.exitArgs(dir), { stdio: 'ignore', env: this.deps.env ?? process.env, timeout: 2000 });
    fs.rmSync(dir, { recursive: true, force: true });
  };

  private exitArgs(dir: string): string[] {
    return ['-o', `ControlPath=${path.join(dir, '%C')}`, '-O', 'exit', ...targetArgs(this.spec)];
  }

  private controlPath(): string | undefined {
    return this.controlDir ? path.join(this.controlDir, '%C') : undefined;
  }
}

const STDERR_LIMIT = 8 * 1024;

/** One ssh process as a socket-like stream for http: what it prints to stdout is the engine's answer. */
class SshConnection extends Duplex {
  private stderr = '';
  private answered = false;
  private timer: NodeJS.Timeout | undefined;
  private timeoutMs = 0;
  private readonly child: ChildProcess;
  private readonly spec: SshSpec;

  constructor(child: ChildProcess, spec: SshSpec) {
    super();
    this.child = child;
    this.spec = spec;
    const stdout = child.stdout!;
    stdout.on('data', (chunk: Buffer) => {
      this.answered = true;
      this.touch();
      if (!this.push(chunk)) stdout.pause();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (this.stderr.length < STDERR_LIMIT) this.stderr += chunk.toString('utf8').slice(0, STDERR_LIMIT - this.stderr.length);
    });
    child.stdin!.on('error', () => undefined); // a dead ssh: its exit says why
    child.once('error', (error) => this.destroy(sshFailure(this.spec, '', error)));
    child.once('close', (code, signal) => {
      if (this.destroyed) return;
      if (!this.answered && (code !== 0 || this.stderr)) this.destroy(sshFailure(this.spec, this.stderr, undefined, code ?? signal));
      else this.push(null);
    });
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.touch();
    this.child.stdin!.write(chunk, () => done());
  }

  override _final(done: (error?: Error | null) => void): void {
    this.child.stdin!.end(done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    done(error);
  }

  // What http.Agent and ClientRequest call on a net.Socket.
  setTimeout(ms: number, callback?: () => void): this {
    this.timeoutMs = ms;
    // As net.Socket: a callback for 0 is removed again (http clears its timeouts that way).
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.touch();
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  ref(): this {
    for (const handle of [this.child, this.child.stdout, this.child.stdin, this.child.stderr]) (handle as { ref?: () => void } | null)?.ref?.();
    return this;
  }

  /** An idle kept-alive connection must not keep a CLI process running. */
  unref(): this {
    for (const handle of [this.child, this.child.stdout, this.child.stdin, this.child.stderr]) (handle as { unref?: () => void } | null)?.unref?.();
    return this;
  }

  private touch(): void {
    clearTimeout(this.timer);
    this.timer = this.timeoutMs > 0 ? setTimeout(() => this.emit('timeout'), this.timeoutMs) : undefined;
    this.timer?.unref();
  }
}

/** What ssh said, as one line with the fix. Its stderr may quote the remote host: made inert and bounded. */
export function sshFailure(spec: SshSpec, stderr: string, spawnError?: Error, exit?: number | string | null): AirlockError {
  const target = describeSsh(spec);
  if ((spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return new AirlockError('engine_unavailable', `cannot reach the Docker engine at ssh://${target}: the ssh client is not installed`, 'install OpenSSH (`sudo apt-get install openssh-client`), or use a tcp:// engine with TLS');
  }
  const said = stderr.split('\n').map((line) => inert(line)).filter((line) => line && !/^(Warning: Permanently added|@+$)/.test(line));
  const text = said.join(' ');
  const known: [RegExp, string, string][] = [
    [/REMOTE HOST IDENTIFICATION HAS CHANGED/i, 'the host key of ' + spec.host + ' has CHANGED since you last connected (someone may be intercepting)', `check the new key with the host's owner, then remove the old one: \`ssh-keygen -R ${spec.host}\``],
    [/Host key verification failed|No .*host key is known/i, 'host key verification failed (the host is not in your known_hosts)', `connect once with \`ssh ${target}\` and check the fingerprint it shows before accepting it`],
    [/Permission denied/i, `permission denied for ${spec.user ?? 'your user'} (${/\(([^)]*)\)/.exec(text)?.[1] ?? 'publickey'})`, `add your public key to ~/.ssh/authorized_keys of ${spec.user ?? 'that user'} on ${spec.host}, or load it with \`ssh-add\` (Airlock never prompts for a passphrase)`],
    [/Could not resolve hostname/i, `the host name ${spec.host} does not resolve`, 'check the host in DOCKER_HOST or the Docker context'],
    [/Connection refused/i, `nothing accepts ssh connections on ${spec.host}${spec.port ? `:${spec.port}` : ''}`, 'start sshd there, or put the right port in the URL (ssh://user@host:port)'],
    [/timed out|Timeout, server .* not responding|No route to host|Network is unreachable/i, `${spec.host} does not answer (${/timed out|Timeout/i.test(text) ? 'timed out' : 'no route'})`, 'check the host is up and reachable from here'],
    [/docker: (command )?not found|command not found/i, `docker is not installed on ${spec.host} (or not on the PATH of ${spec.user ?? 'that user'})`, 'install Docker 18.09 or newer there'],
    [/Cannot connect to the Docker daemon|permission denied while trying to connect/i, `the Docker engine on ${spec.host} does not answer its user: ${said.at(-1) ?? ''}`.slice(0, 300), `start Docker there, and add ${spec.user ?? 'the user'} to its docker group`],
  ];
  for (const [pattern, reason, fix] of known) {
    if (pattern.test(text)) return new AirlockError('engine_unavailable', `cannot reach the Docker engine at ssh://${target}: ${reason}`, fix);
  }
  const reason = said.at(-1)?.slice(0, 200) ?? (spawnError ? spawnError.message : `ssh exited (${exit ?? 'no status'}) without answering`);
  return new AirlockError('engine_unavailable', `cannot reach the Docker engine at ssh://${target}: ${reason}`, `try \`ssh ${target} docker system dial-stdio\` to see what fails`);
}

function badSsh(value: string, where: string, why: string): AirlockError {
  return new AirlockError('engine_unavailable', `${where} ${JSON.stringify(value)} is not an ssh address Airlock can use: ${why}`, 'use ssh://user@host or ssh://user@host:port (keys and options go in ~/.ssh/config)');
}

/** Printable text only: a remote's stderr can carry terminal escapes. */
function inert(line: string): string {
  return line.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '').trim();
}
