/**
 * How a client finds the user's engine: AIRLOCK_ENGINE=inprocess runs the core in the client's
 * own process; otherwise the client connects to the engine's socket, starting the engine in the
 * background when none runs, and replacing an idle engine of another build.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AirlockError } from '../errors.js';
import { airlockHome } from '../home.js';
import { currentBuild } from './build.js';
import type { EngineClient } from './client.js';
import { engineEndpoint, openEngineLog, prepareHome, type EngineEndpoint } from './endpoint.js';
import { isNoEngine, openSocketClient, type OpenedClient } from './socket-client.js';
import { ENGINE_SETTINGS, settingsDigest } from './settings.js';
import { PROTOCOL, type EngineHello } from './wire.js';

/** How to start the engine process: the program and its arguments (`… engine serve` follows). */
export interface EngineSpawn {
  command: string;
  args: string[];
  /** Added to the engine's environment (the app: ELECTRON_RUN_AS_NODE=1). */
  env?: NodeJS.ProcessEnv;
}

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  /** Start an engine when none runs (default true). */
  start?: boolean;
  spawn?: EngineSpawn;
  /** Who we are, for the engine's log (cli, app). */
  client?: string;
  /** Where one-line notices go (another build's engine); standard error by default. */
  notice?: (line: string) => void;
  /** How long a starting engine may take to answer (default 20 s). */
  startTimeoutMs?: number;
}

export async function connectEngine(options: ConnectOptions = {}): Promise<EngineClient> {
  const env = options.env ?? process.env;
  if (env.AIRLOCK_ENGINE === 'inprocess') return (await import('./engine-entry.js')).inProcessEngine(env);
  // AIRLOCK_HOME must be the user's own folder; one of ours with a looser mode (made by hand, or by
  // an older Airlock) is narrowed to 0700 rather than refused. Another user's is refused here.
  prepareHome(airlockHome(env));
  const endpoint = engineEndpoint(airlockHome(env), env);
  const build = currentBuild();
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const open = () => openSocketClient(endpoint, { build, name: options.client ?? 'cli' });
  let opened = await open().catch((error: unknown) => {
    if (options.start === false || !isNoEngine(error)) throw error;
    return undefined;
  });
  // Only a client that may start an engine replaces one (status and stop look at whichever runs).
  if (opened && options.start !== false) {
    const other = otherEngine(opened.hello, build, settingsDigest(env));
    if (other) opened = await handleOtherEngine(opened, other, endpoint, notice);
  }
  if (opened?.client) return opened.client;
  if (opened) throw new AirlockError('engine_unavailable', `the running Airlock engine (pid ${opened.hello.pid}, build ${opened.hello.build}) speaks protocol ${opened.hello.protocol}, this client ${PROTOCOL}`, `stop it with \`kill ${opened.hello.pid}\` once its tasks are done`);
  if (options.start === false) throw new AirlockError('engine_unavailable', 'no Airlock engine is running', 'run `airlock engine start`', { cause: Object.assign(new Error('no engine'), { code: 'ENOENT' }) });
  const started = await startAndOpen(endpoint, env, options, open);
  return started;
}

/** How the running engine differs from what this client would start, or undefined when it does not. */
function otherEngine(hello: EngineHello, build: string, settings: string): string | undefined {
  if (hello.build !== build) return `is build ${hello.build}, this is ${build}`;
  if (hello.settings !== undefined && hello.settings !== settings) return `was started with other settings (${ENGINE_SETTINGS.join(', ')}, or the docker config's current context)`;
  return undefined;
}

/**
 * An engine of another build, or started with other settings: an idle one is stopped (and a fresh
 * one started by the caller, with this client's environment); a busy one speaking our protocol is
 * used and asked to leave once idle; otherwise a clear error.
 */
async function handleOtherEngine(opened: OpenedClient, other: string, endpoint: EngineEndpoint, notice: (line: string) => void): Promise<OpenedClient | undefined> {
  const { hello, client } = opened;
  if (hello.tasks === 0) {
    notice(`airlock: the running Airlock engine ${other}: restarting it`);
    if (client) {
      if (!(await stopEngine(client))) throw new AirlockError('engine_unavailable', `the running Airlock engine (pid ${hello.pid}) has not stopped within a minute`, `see \`airlock engine logs\`; \`kill ${hello.pid}\``);
    } else {
      // An engine of another protocol cannot be asked: signalled, but only if that pid is an engine.
      if (!isEngineProcess(hello.pid)) {
        throw new AirlockError('engine_unavailable', `the process answering on ${endpoint.socket} (pid ${hello.pid}) speaks protocol ${hello.protocol} and does not look like an Airlock engine`, `stop it yourself, then run the command again`);
      }
      process.kill(hello.pid, 'SIGTERM');
    }
    await waitUntilGone(endpoint);
    return undefined;
  }
  if (!client) {
    throw new AirlockError('engine_unavailable', `the running Airlock engine (pid ${hello.pid}, build ${hello.build}) speaks another protocol and runs ${hello.tasks} task(s)`, 'wait for its tasks to end, or stop them with `airlock engine stop` from that build');
  }
  notice(`airlock: the running Airlock engine ${other}; it runs ${hello.tasks} task(s), so it is used and exits once idle`);
  await client.call('engine.retire');
  return opened;
}

/**
 * Asks an engine to stop and waits until its connection drops (it stops its tasks first, which
 * takes seconds); false when it is still there after `timeoutMs`.
 */
export async function stopEngine(client: EngineClient, timeoutMs = 60_000): Promise<boolean> {
  const stopped = new Promise<boolean>((resolve) => {
    client.onLost(() => resolve(true));
    setTimeout(() => resolve(false), timeoutMs).unref();
  });
  await client.call('engine.stop');
  return stopped;
}

/** Waits until nothing answers on the endpoint (an engine told to stop has stopped). */
async function waitUntilGone(endpoint: EngineEndpoint, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; Date.now() < deadline; delay = Math.min(delay * 2, 200)) {
    if (!fs.existsSync(endpoint.socket)) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  throw new AirlockError('engine_unavailable', 'the running Airlock engine did not stop', 'see `airlock engine logs`');
}

/**
 * The default engine program, run with this process's node: engine-main.cjs beside the CLI bundle
 * this module is part of (the core without the CLI: a faster start), else that bundle itself.
 */
function defaultSpawn(): EngineSpawn {
  const self = fileURLToPath(import.meta.url);
  if (!self.endsWith('.cjs')) throw new AirlockError('engine_unavailable', 'cannot start the Airlock engine from sources', 'build the CLI (`npm run build:cli`), or pass how to spawn it');
  const program = path.join(path.dirname(self), 'engine-main.cjs');
  return { command: process.execPath, args: [fs.existsSync(program) ? program : self] };
}

/**
 * Starts an engine in the background (detached, its own session, output to engine.log) and
 * connects once it answers. Two clients doing this at once start two processes; the engine's
 * start lock leaves one serving and the other exits, and both clients connect to the one.
 */
async function startAndOpen(endpoint: EngineEndpoint, env: NodeJS.ProcessEnv, options: ConnectOptions, open: () => Promise<OpenedClient>): Promise<EngineClient> {
  const how = options.spawn ?? defaultSpawn();
  prepareHome(airlockHome(env));
  const logFd = openEngineLog(endpoint.log);
  let exited: string | undefined;
  try {
    const child = spawn(how.command, [...how.args, 'engine', 'serve'], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...env, ...how.env },
    });
    child.once('error', (error) => (exited = error.message));
    child.once('exit', (code, signal) => (exited = signal ? `it was killed (${signal})` : `it exited with code ${code}`));
    child.unref();
  } finally {
    fs.closeSync(logFd);
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (let delay = 5; ; delay = Math.min(delay * 2, 25)) {
    try {
      const opened = await open();
      if (opened.client) return opened.client;
      throw new AirlockError('engine_unavailable', `a new Airlock engine speaks protocol ${opened.hello.protocol}, unlike this client`, 'reinstall Airlock');
    } catch (error) {
      if (!isNoEngine(error)) throw error;
      // A start that lost the race exits 0 while the winner comes up: keep polling for it.
      if (exited !== undefined && exited !== 'it exited with code 0') {
        throw new AirlockError('engine_unavailable', `the Airlock engine did not start: ${exited}`, `see ${endpoint.log}`);
      }
      if (Date.now() > deadline) throw new AirlockError('engine_unavailable', 'the Airlock engine did not answer in time', `see ${endpoint.log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Whether `pid` runs an Airlock engine (its command line says so), where the OS tells (Linux /proc). */
function isEngineProcess(pid: number): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((arg) => /engine-main\.cjs$/.test(arg)) || (argv.includes('engine') && argv.includes('serve'));
  } catch {
    return false; // no /proc (macOS, Windows), or no such process: not signalled
  }
}
