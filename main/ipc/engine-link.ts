/**
 * The app's main process as a client of Airlock's engine: one engine connection per page that
 * calls (a window's web contents; a connection of the e2e bridge), so the engine's per-caller rules
 * hold one to one — a screen's frames go to the page that watches it, and its control is given back
 * when that page goes. A page's connection is opened on its first call, closed when the page goes
 * (closed, reloaded, crashed). When the engine is lost under a page, the page's next call fails with
 * engine_unavailable (once: its screen watches and control went with the engine), and the call
 * after that connects again, starting a fresh engine.
 */
import path from 'node:path';
import { AirlockError, isAirlockError } from '../core/errors.js';
import type { EngineClient } from '../core/server/client.js';
import type { EngineSpawn } from '../core/server/connect.js';
import type { Caller } from '../core/server/dispatch.js';
import type { EngineArgs, EngineChannel, EngineResult } from '../core/server/engine-contract.js';
import { PUSH_TOPICS, type PushTopic } from '../../preload/contract.js';

/** Opens one connection to the engine (finding or starting it). */
export type Connect = () => Promise<EngineClient>;

/** What the forwarding handlers ask of the engine: one call on behalf of a page. */
export interface EngineCalls {
  call<C extends EngineChannel>(caller: Caller, channel: C, ...args: EngineArgs<C>): Promise<EngineResult<C>>;
  /** Drops the page's connection: its next call connects again (after the Docker context changed). */
  reconnect?(caller: Caller): Promise<void>;
}

const AGAIN_HINT = 'try again: the next action starts the Airlock engine again (`airlock engine logs` says why it stopped)';

/** A page's connection: the client once connected, and whether it is still the page's. */
interface Connection {
  readonly client: Promise<EngineClient>;
  /** Why the engine went away under this connection (the client's one line). */
  lost: string | undefined;
  /** No longer the page's: closed, its pushes no longer reach the page. */
  forgotten: boolean;
  /** Stops listening for the page going. */
  undoGone: () => void;
}

export class EngineConnections implements EngineCalls {
  readonly #connect: Connect;
  readonly #connections = new Map<Caller, Connection>();
  /** What each page said it answers asks for: said again on the page's next connection (a restarted engine knows nothing of it). */
  readonly #attends = new WeakMap<Caller, EngineArgs<'approvals.attend'>[0][]>();
  #closed = false;

  constructor(connect: Connect) {
    this.#connect = connect;
  }

  async call<C extends EngineChannel>(caller: Caller, channel: C, ...args: EngineArgs<C>): Promise<EngineResult<C>> {
    if (channel === 'approvals.attend') this.#attends.set(caller, [...(this.#attends.get(caller) ?? []), args[0] as EngineArgs<'approvals.attend'>[0]].slice(-8));
    const connection = this.#connectionOf(caller);
    const client = await connection.client;
    if (connection.lost !== undefined) {
      // The page learns once that the engine went (its watches and control went with it); its next call connects again.
      void this.#forget(caller, connection);
      throw new AirlockError('engine_unavailable', stoppedLine(connection.lost), AGAIN_HINT);
    }
    try {
      return await client.call(channel, ...args);
    } catch (error) {
      // An error envelope from the engine is its answer; anything else is the connection failing.
      if (connection.lost === undefined && isAirlockError(error)) throw error;
      this.#forget(caller, connection);
      // The client's own line when it has one (it says why); the page gets what to do besides.
      const message = isAirlockError(error) ? oneLine(error.message) : stoppedLine(connection.lost ?? (error as Error).message);
      throw new AirlockError('engine_unavailable', message, AGAIN_HINT, { cause: error });
    }
  }

  async reconnect(caller: Caller): Promise<void> {
    const connection = this.#connections.get(caller);
    if (connection) await this.#forget(caller, connection);
  }

  /** Pages connected now (tests; a reloaded page counts once). */
  get size(): number {
    return this.#connections.size;
  }

  /** Closes every page's connection (the app is quitting); later calls are refused. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    const all = [...this.#connections];
    await Promise.all(all.map(([caller, connection]) => this.#forget(caller, connection)));
  }

  #connectionOf(caller: Caller): Connection {
    if (this.#closed) throw new AirlockError('engine_unavailable', 'Airlock is quitting');
    const existing = this.#connections.get(caller);
    if (existing) return existing;
    const connection: Connection = {
      // A connect that throws at once is a failed connect too, never an exception out of the call.
      client: new Promise<EngineClient>((resolve) => resolve(this.#connect())).then(
        (client) => this.#attach(caller, connection, client),
        (error: unknown) => {
          this.#forget(caller, connection);
          throw unreachable(error);
        },
      ),
      lost: undefined,
      forgotten: false,
      undoGone: () => undefined,
    };
    this.#connections.set(caller, connection);
    connection.undoGone = caller.onGone(() => void this.#forget(caller, connection));
    return connection;
  }

  /** The engine's pushes on this connection go to its page, for as long as it is the page's. */
  #attach(caller: Caller, connection: Connection, client: EngineClient): EngineClient {
    if (connection.forgotten) return client;
    for (const topic of PUSH_TOPICS) {
      client.subscribe(topic, (payload) => {
        if (!connection.forgotten) caller.push(topic as PushTopic, payload as never);
      });
    }
    for (const scope of this.#attends.get(caller) ?? []) void client.call('approvals.attend', scope).catch(() => undefined); // the engine's answer is its own affair
    client.onLost((reason) => {
      connection.lost = reason;
      void this.#close(connection);
    });
    return client;
  }

  /** Drops the page's connection (the next call opens another) and closes it; never rejects. */
  async #forget(caller: Caller, connection: Connection): Promise<void> {
    if (this.#connections.get(caller) === connection) this.#connections.delete(caller);
    await this.#close(connection);
  }

  /** Closes a connection and stops its pushes reaching the page; never rejects. */
  async #close(connection: Connection): Promise<void> {
    if (connection.forgotten) return;
    connection.forgotten = true;
    connection.undoGone();
    try {
      await (await connection.client).close();
    } catch {
      // never connected, or already gone with the engine
    }
  }
}

/** A failed connect as the window sees it: what is wrong, and what to do. */
function unreachable(error: unknown): AirlockError {
  if (isAirlockError(error)) {
    // An engine that went while it was being reached: the next call starts a fresh one.
    if (error.code === 'engine_unavailable' && !error.hint) return new AirlockError('engine_unavailable', oneLine(error.message), AGAIN_HINT, { cause: error });
    return error;
  }
  return new AirlockError('engine_unavailable', `cannot reach the Airlock engine: ${oneLine((error as Error).message)}`, AGAIN_HINT, { cause: error });
}

/** "the Airlock engine stopped: why", whether or not the client's line already says so. */
function stoppedLine(reason: string): string {
  const why = oneLine(reason).replace(/^airlock: /, '');
  return why.startsWith('the Airlock engine stopped') ? why : `the Airlock engine stopped: ${why}`;
}

function oneLine(text: string): string {
  const line = String(text).split('\n')[0]!;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * How the app starts the engine: Electron's own binary as plain Node (ELECTRON_RUN_AS_NODE) running
 * the CLI bundle (connectEngine adds `engine serve`) — out/cli/airlock.cjs beside out/main, in the
 * repository as in the packaged app (electron-builder packs out/**; Electron reads the bundle from
 * the asar).
 */
export function electronEngineSpawn(electronBinary: string, appPath: string): EngineSpawn {
  return { command: electronBinary, args: [path.join(appPath, 'out', 'cli', 'airlock.cjs')], env: { ELECTRON_RUN_AS_NODE: '1' } };
}
