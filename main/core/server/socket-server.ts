/**
 * The engine's socket server: each connection is one Caller of the engine's one handler table.
 * Everything a client sends is untrusted: bounded lines, bounded connections, bounded calls in
 * flight, and a bound on what a client that does not read may make the engine hold for it.
 * Nothing a client sends can throw out of here: a bad message gets an error envelope or the
 * connection closed, and a line in the engine's log.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { PushTopic } from '../../../preload/contract.js';
import type { Caller, HandlerTable, Log } from './dispatch.js';
import type { EngineContract } from './engine-contract.js';
import { decodeMessage, encodeMessage, isRecord, LineSplitter, MAX_CLIENT_LINE_BYTES, PROTOCOL, type EngineHello, type EngineMessage } from './wire.js';

export interface SocketServerLimits {
  /** Connections at once; one more is told so and closed. */
  maxConnections: number;
  /** Calls one connection may have unanswered; one more gets an error envelope. */
  maxInFlight: number;
  /** Bytes queued for a connection that does not read; past it the connection is closed. */
  maxQueuedBytes: number;
  /** Bytes queued past which the engine stops reading a connection's calls until it catches up. */
  pauseQueuedBytes: number;
  /** Longest line a client may send. */
  maxLineBytes: number;
  /** A connection that has not said hello by then is closed. */
  helloTimeoutMs: number;
}

export const DEFAULT_LIMITS: SocketServerLimits = {
  maxConnections: 64,
  maxInFlight: 32,
  maxQueuedBytes: 32 * 1024 * 1024,
  pauseQueuedBytes: 1024 * 1024,
  maxLineBytes: MAX_CLIENT_LINE_BYTES,
  helloTimeoutMs: 10_000,
};

export interface SocketServerOptions {
  table: HandlerTable<EngineContract>;
  /** The service's pushes (events, tasks, approvals, images) go to every connection. */
  subscribe(listener: (push: { topic: PushTopic; payload: unknown }) => void): () => void;
  build: string;
  /** The digest of the engine's settings (told in hello). */
  settings?: string;
  /** Tasks running now (told in hello). */
  runningTasks(): number;
  log: Log;
  limits?: Partial<SocketServerLimits>;
  /** Called when a connection opens or closes (the engine's idle timer). */
  onConnectionsChange?: (count: number) => void;
}

interface Connection {
  socket: net.Socket;
  caller: Caller;
  name: string;
  ready: boolean;
  inFlight: number;
  /** Its calls are not read while it has not read our answers (see pauseQueuedBytes). */
  paused: boolean;
  /** What it said it is in its hello (cli, app, e2e). */
  client?: string;
}

export class EngineSocketServer {
  readonly #options: SocketServerOptions;
  readonly #limits: SocketServerLimits;
  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();
  readonly #unsubscribe: () => void;
  #serial = 0;
  /** The socket file we made (its inode): only that one is removed when we close. */
  #socketInode: number | undefined;

  constructor(options: SocketServerOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#server = net.createServer({ allowHalfOpen: false }, (socket) => this.#accept(socket));
    this.#server.on('error', (error) => options.log('engine socket error', error));
    this.#unsubscribe = options.subscribe((push) => {
      for (const connection of this.#connections) if (connection.ready) this.#send(connection, { push: push.topic, payload: push.payload });
    });
  }

  get connections(): number {
    return this.#connections.size;
  }

  /** Listens on `socketPath`; the caller has made sure nothing else does (the start lock). */
  listen(socketPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(socketPath, () => {
        this.#server.off('error', onError);
        if (process.platform !== 'win32') this.#socketInode = fs.statSync(socketPath).ino;
        resolve();
      });
    });
  }

  /**
   * Closes every connection (their callers are gone) and stops listening; removes the socket file
   * if it is still ours (a new engine may have taken the path over meanwhile).
   */
  async close(socketPath?: string): Promise<void> {
    this.#unsubscribe();
    for (const connection of this.#connections) connection.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (!socketPath || this.#socketInode === undefined) return;
    try {
      if (fs.lstatSync(socketPath).ino === this.#socketInode) fs.rmSync(socketPath, { force: true });
    } catch {
      // already gone
    }
  }

  #accept(socket: net.Socket): void {
    const log = this.#options.log;
    if (this.#connections.size >= this.#limits.maxConnections) {
      log(`refused a connection: ${this.#limits.maxConnections} clients are connected already`);
      socket.on('error', () => undefined);
      socket.end(`${encodeMessage({ id: 0, envelope: { ok: false, error: { code: 'engine_unavailable', message: 'the Airlock engine has too many clients' } } })}\n`);
      socket.destroySoon();
      return;
    }
    const gone = new Set<() => void>();
    const connection: Connection = {
      socket,
      name: `client ${++this.#serial}`,
      ready: false,
      inFlight: 0,
      paused: false,
      caller: {
        push: (topic, payload) => {
          if (connection.ready) this.#send(connection, { push: topic, payload });
        },
        onGone: (listener) => {
          gone.add(listener);
          return () => gone.delete(listener);
        },
        backlog: () => socket.writableLength,
        get client() {
          return connection.client;
        },
      },
    };
    this.#connections.add(connection);
    this.#options.onConnectionsChange?.(this.#connections.size);
    const helloTimer = setTimeout(() => this.#drop(connection, 'said no hello in time'), this.#limits.helloTimeoutMs);
    helloTimer.unref();
    const lines = new LineSplitter(this.#limits.maxLineBytes, (line) => this.#receive(connection, line, helloTimer), () => {
      this.#reply(connection, 0, 'bad_argument', `a message longer than ${this.#limits.maxLineBytes} bytes`);
      this.#drop(connection, `sent a line longer than ${this.#limits.maxLineBytes} bytes`);
    });
    socket.on('data', (chunk: Buffer) => lines.push(chunk));
    socket.on('error', () => undefined); // a reset connection is a close
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.#connections.delete(connection);
      const listeners = [...gone];
      gone.clear();
      for (const listener of listeners) {
        try {
          listener();
        } catch (error) {
          log(`${connection.name}: cleaning up after it failed`, error);
        }
      }
      this.#options.onConnectionsChange?.(this.#connections.size);
    });
  }

  #receive(connection: Connection, line: string, helloTimer: NodeJS.Timeout): void {
    if (connection.socket.writableEnded || connection.socket.destroyed) return; // being dropped: nothing more is answered
    let message: unknown;
    try {
      message = decodeMessage(line);
    } catch {
      this.#reply(connection, 0, 'bad_argument', 'a message that is not JSON');
      this.#drop(connection, 'sent a message that is not JSON');
      return;
    }
    if (!isRecord(message)) {
      this.#reply(connection, 0, 'bad_argument', 'a message that is not an object');
      this.#drop(connection, 'sent a message that is not an object');
      return;
    }
    if (!connection.ready) {
      clearTimeout(helloTimer);
      this.#hello(connection, message.hello);
      return;
    }
    const id = message.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0 || typeof message.channel !== 'string') {
      this.#reply(connection, 0, 'bad_argument', 'a call needs a positive integer id and a channel');
      return;
    }
    if (connection.inFlight >= this.#limits.maxInFlight) {
      this.#reply(connection, id, 'bad_argument', `more than ${this.#limits.maxInFlight} calls at once from one client`);
      return;
    }
    connection.inFlight += 1;
    // invoke() never rejects (every error is an envelope); the catch is for the send alone.
    void this.#options.table.invoke(message.channel, message.args, connection.caller, this.#options.log)
      .then((envelope) => this.#send(connection, { id, envelope }))
      .catch((error: unknown) => this.#options.log(`${connection.name}: answering ${String(message.channel).slice(0, 80)} failed`, error))
      .finally(() => (connection.inFlight -= 1));
  }

  #hello(connection: Connection, hello: unknown): void {
    if (!isRecord(hello) || typeof hello.protocol !== 'number') {
      this.#reply(connection, 0, 'bad_argument', 'the first message must be {hello: {protocol, build, client}}');
      this.#drop(connection, 'did not start with hello');
      return;
    }
    const client = typeof hello.client === 'string' ? hello.client.replace(/[^\w.-]/g, '').slice(0, 40) : '?';
    const build = typeof hello.build === 'string' ? hello.build.replace(/[^\w.+-]/g, '').slice(0, 80) : '?';
    connection.name = `${connection.name} (${client} ${build})`;
    connection.client = client;
    const reply: EngineHello = { protocol: PROTOCOL, build: this.#options.build, pid: process.pid, tasks: this.#options.runningTasks(), ...(this.#options.settings ? { settings: this.#options.settings } : {}) };
    this.#send(connection, { hello: reply });
    if (hello.protocol !== PROTOCOL) {
      // It learns our protocol from the hello, and decides; we say nothing more to it.
      connection.socket.end();
      return;
    }
    connection.ready = true;
  }

  #reply(connection: Connection, id: number, code: string, message: string): void {
    this.#send(connection, { id, envelope: { ok: false, error: { code, message } } });
  }

  #send(connection: Connection, message: EngineMessage): void {
    const socket = connection.socket;
    if (socket.destroyed || socket.writableEnded) return;
    if (socket.writableLength > this.#limits.maxQueuedBytes) {
      this.#drop(connection, `does not read what it is sent (over ${this.#limits.maxQueuedBytes} bytes queued)`);
      return;
    }
    let text: string;
    try {
      text = encodeMessage(message);
    } catch (error) {
      this.#options.log(`${connection.name}: a message could not be encoded`, error);
      return;
    }
    socket.write(`${text}\n`);
    // Answers pile up when the client does not read them: read no more of its calls until it
    // does, so what it asks cannot grow the queue (pushes alone then count toward maxQueuedBytes).
    if (!connection.paused && socket.writableLength > this.#limits.pauseQueuedBytes) {
      connection.paused = true;
      socket.pause();
      this.#options.log(`${connection.name} does not read its answers: its calls wait until it does`);
      socket.once('drain', () => {
        connection.paused = false;
        socket.resume();
      });
    }
  }

  #drop(connection: Connection, why: string): void {
    if (connection.socket.destroyed) return;
    this.#options.log(`disconnected ${connection.name}: it ${why}`);
    // Whatever was queued still goes out (the error envelope), then the connection ends;
    // a peer that reads nothing is cut off outright.
    if (connection.socket.writableLength > this.#limits.maxQueuedBytes) connection.socket.destroy();
    else {
      connection.socket.end();
      setTimeout(() => connection.socket.destroy(), 1000).unref();
    }
  }
}
