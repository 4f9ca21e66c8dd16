// Time limits on everything a sandbox or an upstream can keep open: a request head that never
// completes (slowloris), a body or a tunnel that stops moving, an upstream that never answers or
// stops half-way. Driven by the injected clock — one sweep for all, so a chunk only stamps a time.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';

export interface GatewayTimeouts {
  /** From connecting (or the end of the last response on a kept-alive connection) to a complete request head. */
  headersMs: number;
  /** The longest pause within a request body. */
  idleMs: number;
  /** A request body to the in-sandbox API, whole. */
  apiBodyMs: number;
  /** From sending a request upstream to the head of its response (long: some APIs think for minutes). */
  upstreamResponseMs: number;
  /** The longest pause within an upstream's response body (also: a sandbox that stops reading it). */
  upstreamIdleMs: number;
  /** A CONNECT tunnel that carries nothing either way. */
  tunnelIdleMs: number;
  /** From a plain tunnel's opening to its client's complete TLS ClientHello (read for its server name). */
  clientHelloMs: number;
}

export const DEFAULT_TIMEOUTS: GatewayTimeouts = {
  headersMs: 30_000,
  idleMs: 60_000,
  apiBodyMs: 10_000,
  upstreamResponseMs: 300_000,
  upstreamIdleMs: 120_000,
  tunnelIdleMs: 600_000,
  clientHelloMs: 10_000,
};

/** One running limit: expires `limitMs` after it was started or last touched, unless paused or stopped. */
export interface Watch {
  /** Activity: the limit counts from now. */
  touch(): void;
  /** Counts from now again, with a new limit and what to do when it runs out. */
  restart(limitMs: number, onExpire: () => void): void;
  pause(): void;
  stop(): void;
}

interface Entry {
  limitMs: number;
  last: number;
  paused: boolean;
  onExpire: () => void;
}

/** All the limits of one gateway, checked by one sweep every `tickMs` while any is running. */
export class Watchdog {
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #entries = new Set<Entry>();
  readonly #owned = new WeakMap<object, Watch>();
  #timer: { cancel(): void } | undefined;

  constructor(clock: Clock, tickMs = 1_000) {
    this.#clock = clock;
    this.#tickMs = tickMs;
  }

  watch(limitMs: number, onExpire: () => void): Watch {
    const entry: Entry = { limitMs, last: this.#clock.now(), paused: false, onExpire };
    this.#entries.add(entry);
    this.#schedule();
    return {
      touch: () => {
        entry.last = this.#clock.now();
      },
      restart: (limit, expire) => {
        Object.assign(entry, { limitMs: limit, onExpire: expire, last: this.#clock.now(), paused: false });
        this.#entries.add(entry);
        this.#schedule();
      },
      pause: () => {
        entry.paused = true;
      },
      stop: () => {
        this.#entries.delete(entry);
      },
    };
  }

  /** Ties a watch to a stream, so whoever reads the stream can report activity on it (touch). */
  bind(owner: object, watch: Watch): void {
    this.#owned.set(owner, watch);
  }

  /** Activity on a stream whose limit was tied to it with bind(); nothing otherwise. */
  touch(owner: object): void {
    this.#owned.get(owner)?.touch();
  }

  close(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#entries.clear();
  }

  #schedule(): void {
    if (this.#timer || this.#entries.size === 0) return;
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), this.#tickMs);
  }

  #sweep(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (const entry of [...this.#entries]) {
      if (entry.paused || now - entry.last < entry.limitMs) continue;
      this.#entries.delete(entry);
      try {
        entry.onExpire();
      } catch {
        // An expiry only ever destroys streams; nothing it throws may stop the sweep.
      }
    }
    this.#schedule();
  }
}

/**
 * Limits on the connections of one of the gateway's HTTP servers: the request head must be complete
 * within `headersMs` of connecting or of the last response (idle keep-alive included), and a request
 * body may not pause longer than `idleMs` (its reader reports progress with Watchdog.touch). While a
 * request is being answered the connection's own limit rests (the upstream's apply). `onExpired` is
 * told, then the connection is destroyed.
 */
export function guardServer(server: http.Server, watchdog: Watchdog, timeouts: Pick<GatewayTimeouts, 'headersMs' | 'idleMs'>, onExpired: (socket: Duplex, phase: 'head' | 'body') => void = () => undefined): void {
  const guards = new WeakMap<object, { watch: Watch; open: number }>();
  const expire = (socket: Duplex, phase: 'head' | 'body') => () => {
    onExpired(socket, phase);
    socket.destroy();
  };
  server.on('connection', (socket: Duplex) => {
    const guard = { watch: watchdog.watch(timeouts.headersMs, expire(socket, 'head')), open: 0 };
    guards.set(socket, guard);
    socket.once('close', () => guard.watch.stop());
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const guard = guards.get(req.socket);
    if (!guard) return;
    guard.open += 1;
    // The body's reader reports each chunk (Watchdog.touch): a 'data' listener here would start the
    // stream flowing before the reader is there, and its first chunks would be lost.
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.complete) {
      guard.watch.restart(timeouts.idleMs, expire(req.socket, 'body'));
      watchdog.bind(req, guard.watch);
      req.once('end', guard.watch.pause);
    } else {
      guard.watch.pause();
    }
    res.once('close', () => {
      guard.open -= 1;
      if (guard.open === 0 && !req.socket.destroyed) guard.watch.restart(timeouts.headersMs, expire(req.socket, 'head'));
    });
  });
  // A CONNECT or an upgrade leaves the server: the tunnel or stream gets limits of its own.
  server.on('connect', (req: http.IncomingMessage) => guards.get(req.socket)?.watch.stop());
  server.on('upgrade', (req: http.IncomingMessage) => guards.get(req.socket)?.watch.stop());
}
