/**
 * One engine: a core (createAirlock) served on the user's engine socket. Started under a lock so
 * two engines starting at once end with one (the loser finds the winner answering and leaves); a
 * dead engine's socket file is replaced. It runs the audit forwarders. Leaves when idle (no
 * client, no task, no forwarder with records to send), when asked (engine.stop), or when its
 * process is told to (SIGTERM): running tasks stopped, sandboxes destroyed, trail flushed.
 */
import fs from 'node:fs';
import net from 'node:net';
import lockfile from 'proper-lockfile';
import { createAirlock, type Airlock, type AirlockOptions } from '../airlock.js';
import { airlockHome } from '../home.js';
import { poolOptionsFromEnv } from '../tasks/pool-options.js';
import { settingsDigest } from './settings.js';
import { AirlockError } from '../errors.js';
import { parseDuration } from '../policy/units.js';
import type { Log } from './dispatch.js';
import { engineEndpoint, prepareHome, prepareSocketFolder, type EngineEndpoint } from './endpoint.js';
import { createEngineHandlers } from './engine-handlers.js';
import { IdleExit, type IdleTimers } from './idle.js';
import { EngineSocketServer, type SocketServerLimits } from './socket-server.js';
import { PROTOCOL } from './wire.js';

export const DEFAULT_IDLE_MS = 10 * 60_000;

/** AIRLOCK_ENGINE_IDLE: a duration (`10m`, `30s`), or 0 for never; the default when unset. */
export function idleFromEnv(env: NodeJS.ProcessEnv): number {
  const text = env.AIRLOCK_ENGINE_IDLE?.trim();
  if (!text) return DEFAULT_IDLE_MS;
  if (text === '0') return 0;
  const ms = parseDuration(text);
  if (ms === undefined) throw new AirlockError('bad_argument', `AIRLOCK_ENGINE_IDLE=${text.slice(0, 40)} is not a duration`, 'use e.g. 10m, 30s, or 0 for never');
  return ms;
}

export interface EngineServerOptions {
  env: NodeJS.ProcessEnv;
  build: string;
  log: Log;
  idleMs?: number;
  /** Passed on to createAirlock (tests: a keychain, a clock). */
  airlock?: Omit<AirlockOptions, 'env'>;
  limits?: Partial<SocketServerLimits>;
  /** The idle exit's timers (tests drive them). */
  idleTimers?: IdleTimers;
}

export interface RunningEngine {
  readonly endpoint: EngineEndpoint;
  readonly airlock: Airlock;
  /** Settles once the engine has stopped (tasks stopped, trail flushed, socket closed). */
  readonly stopped: Promise<void>;
  stop(why: string): Promise<void>;
}

/** Starts the engine, or returns undefined when another engine already answers on the endpoint. */
export async function startEngineServer(options: EngineServerOptions): Promise<RunningEngine | undefined> {
  const home = options.airlock?.home ?? airlockHome(options.env);
  const endpoint = engineEndpoint(home, options.env);
  prepareHome(home);
  const release = await lockfile.lock(home, { lockfilePath: endpoint.lock, realpath: false, stale: 10_000, retries: { retries: 100, minTimeout: 20, maxTimeout: 200 },
    onCompromised: (error) => options.log('the engine start lock was taken over', error) });
  try {
    prepareSocketFolder(endpoint);
    if (await answers(endpoint.socket)) return undefined;
    // A socket file nobody answers on is a dead engine's: replace it.
    if (process.platform !== 'win32') fs.rmSync(endpoint.socket, { force: true });
    // The core (and its warm pool, which starts filling at once) only once this engine is the one.
    const airlock = createAirlock({ env: options.env, pool: poolOptionsFromEnv(options.env), version: options.build, ...options.airlock, home });
    return await serve(airlock, endpoint, options);
  } finally {
    await release().catch(() => undefined);
  }
}

async function serve(airlock: Airlock, endpoint: EngineEndpoint, options: EngineServerOptions): Promise<RunningEngine> {
  const log = options.log;
  const startedAt = new Date().toISOString();
  let stopping: Promise<void> | undefined;
  let settle: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (settle = resolve));
  // A task still starting (its sandbox being made: no live entry yet) counts: an engine that answers
  // "no tasks" may be stopped by another build's client, or leave when idle, and take it with it.
  const running = () => new Set([
    ...airlock.live.list().map((task) => task.task),
    ...airlock.service.tasks().filter((task) => task.state === 'starting').map((task) => task.id),
  ]).size;
  const idle = new IdleExit({
    idleMs: options.idleMs ?? idleFromEnv(options.env),
    // A forwarder with records its collector has not acknowledged keeps the engine: an outage ends in delivery, not in a stopped engine.
    isIdle: () => server.connections === 0 && running() === 0 && !airlock.forwarding.lagging(),
    onIdle: () => void stop(`idle for ${idle.idleMs} ms with no client, no task and nothing to forward`),
    ...(options.idleTimers ? { timers: options.idleTimers } : {}),
  });
  const stop = (why: string): Promise<void> => (stopping ??= (async () => {
    log(`stopping: ${why}`);
    idle.dispose();
    try {
      await airlock.close();
    } catch (error) {
      log('stopping the core failed', error);
    }
    await server.close(endpoint.socket);
    log('stopped');
    settle();
  })());
  const table = createEngineHandlers(airlock, {
    'engine.status': () => ({
      version: options.build,
      protocol: PROTOCOL,
      pid: process.pid,
      startedAt,
      clients: server.connections,
      tasks: running(),
      idleMs: idle.idleMs,
      log: endpoint.log,
      socket: endpoint.socket,
      pool: airlock.pool.state(),
    }),
    'engine.stop': () => {
      // Answered first; the connection then closes once the engine has stopped its tasks.
      setImmediate(() => void stop('asked to stop (engine.stop)'));
    },
    'engine.retire': () => {
      log('a client of another build asked this engine to exit once idle');
      idle.retire();
    },
  });
  const server: EngineSocketServer = new EngineSocketServer({
    table,
    subscribe: (listener) => airlock.service.subscribe(listener),
    build: options.build,
    settings: settingsDigest(options.env),
    runningTasks: running,
    log,
    limits: options.limits,
    onConnectionsChange: () => idle.check(),
  });
  // Born 0600: the engine process's umask is 077; narrowed here too in case a caller's is not.
  const previous = process.umask(0o077);
  try {
    await server.listen(endpoint.socket);
  } finally {
    process.umask(previous);
  }
  if (process.platform !== 'win32') fs.chmodSync(endpoint.socket, 0o600);
  airlock.service.subscribe((push) => {
    if (push.topic === 'tasks') idle.check();
  });
  airlock.forwarding.onChange(() => idle.check());
  airlock.forwarding.start();
  log(`serving ${endpoint.socket} (build ${options.build}, protocol ${PROTOCOL}, pid ${process.pid}, idle exit ${idle.idleMs ? `after ${idle.idleMs} ms` : 'never'})`);
  // Leftovers of a crashed engine (or CLI) are removed, their tasks recorded task.aborted.
  void airlock.reap().then((outcome) => {
    if (outcome.reaped.length > 0) log(`reaped the leftovers of ${outcome.reaped.length} dead task(s)`);
    idle.check();
  });
  idle.check();
  return { endpoint, airlock, stopped, stop };
}

/** Whether an engine answers on `socketPath` (a connection is accepted). */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
