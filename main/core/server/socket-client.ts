/**
 * A client of the engine over its socket: the EngineClient the CLI and the app hold when the
 * engine is another process. It checks that the socket is the user's own before it says a word,
 * and turns the engine going away into one line (onLost) and engine_unavailable for every call
 * still waiting.
 */
import net from 'node:net';
import { AirlockError, type AirlockErrorCode } from '../errors.js';
import type { PushPayload, PushTopic } from '../../../preload/contract.js';
import type { EngineClient } from './client.js';
import type { EngineArgs, EngineChannel, EngineResult } from './engine-contract.js';
import { assertEndpointIsOurs, type EngineEndpoint } from './endpoint.js';
import { decodeMessage, encodeMessage, isRecord, LineSplitter, MAX_ENGINE_LINE_BYTES, PROTOCOL, type EngineHello } from './wire.js';

export interface SocketClientOptions {
  build: string;
  /** Who we are (cli, app): the engine's log says so. */
  name: string;
  /** How long the engine may take to answer hello. */
  helloTimeoutMs?: number;
}

export interface OpenedClient {
  hello: EngineHello;
  /** Undefined when the engine speaks another protocol: it closed the connection after hello. */
  client: EngineClient | undefined;
}

/** The error when nothing listens on the endpoint (no engine, or a dead one's socket file). */
export function isNoEngine(error: unknown): boolean {
  const code = (error as { cause?: NodeJS.ErrnoException })?.cause?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export async function openSocketClient(endpoint: EngineEndpoint, options: SocketClientOptions): Promise<OpenedClient> {
  try {
    assertEndpointIsOurs(endpoint);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new AirlockError('engine_unavailable', 'no Airlock engine is running', 'run `airlock engine start`', { cause: error });
    throw error;
  }
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.createConnection(endpoint.socket);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (error) => reject(new AirlockError('engine_unavailable', `cannot reach the Airlock engine at ${endpoint.socket}: ${error.message}`, 'run `airlock engine start`', { cause: error })));
  });
  const pending = new Map<number, Pending>();
  const listeners = new Map<PushTopic, Set<(payload: unknown) => void>>();
  const lostListeners = new Set<(reason: string) => void>();
  let nextId = 1;
  let closedByUs = false;
  let lostReason: string | undefined;
  let onHello: ((hello: EngineHello) => void) | undefined;
  let helloFailed: ((error: Error) => void) | undefined;

  const lose = (reason: string) => {
    if (lostReason !== undefined) return;
    lostReason = reason;
    const error = new AirlockError('engine_unavailable', `the Airlock engine stopped: ${reason}; the next command starts a new one`);
    for (const call of pending.values()) call.reject(error);
    pending.clear();
    helloFailed?.(error);
    if (!closedByUs) for (const listener of [...lostListeners]) listener(`airlock: the Airlock engine stopped: ${reason}`);
  };

  const lines = new LineSplitter(MAX_ENGINE_LINE_BYTES, (line) => {
    let message: unknown;
    try {
      message = decodeMessage(line);
    } catch {
      socket.destroy();
      lose('it sent a message that is not JSON');
      return;
    }
    if (!isRecord(message)) return;
    if (isRecord(message.hello)) {
      // What the engine says of itself is printed and acted on (its pid is signalled when it is of
      // another build): only a well-formed hello is believed.
      const hello = wellFormedHello(message.hello);
      if (!hello) {
        socket.destroy();
        lose('its hello is not an Airlock engine\'s');
        return;
      }
      onHello?.(hello);
      return;
    }
    if (typeof message.push === 'string') {
      for (const listener of [...(listeners.get(message.push as PushTopic) ?? [])]) listener(message.payload);
      return;
    }
    const envelope = message.envelope as { ok: boolean; value?: unknown; error?: { code: string; message: string; hint?: string } } | undefined;
    if (typeof message.id !== 'number' || !isRecord(envelope)) return;
    const call = pending.get(message.id);
    if (message.id === 0 && !envelope.ok) {
      // Not an answer to a call: the engine is refusing the connection itself (too many clients).
      socket.destroy();
      lose(envelope.error?.message ?? 'it refused this client');
      return;
    }
    if (!call) return;
    pending.delete(message.id);
    if (envelope.ok) call.resolve(envelope.value);
    else call.reject(new AirlockError((envelope.error?.code ?? 'internal') as AirlockErrorCode, envelope.error?.message ?? 'the engine refused', envelope.error?.hint));
  }, () => {
    socket.destroy();
    lose(`it sent a message longer than ${MAX_ENGINE_LINE_BYTES} bytes`);
  });
  socket.on('data', (chunk: Buffer) => lines.push(chunk));
  socket.on('error', () => undefined); // a reset is a close, handled there
  socket.on('close', () => lose('its connection closed (the engine exited or was killed)'));

  const hello = await new Promise<EngineHello>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AirlockError('engine_unavailable', `the Airlock engine at ${endpoint.socket} did not answer`, 'see `airlock engine logs`; `airlock engine stop` and try again'));
    }, options.helloTimeoutMs ?? 10_000);
    onHello = (h) => {
      clearTimeout(timer);
      resolve(h);
    };
    helloFailed = (error) => {
      clearTimeout(timer);
      reject(error);
    };
    socket.write(`${encodeMessage({ hello: { protocol: PROTOCOL, build: options.build, client: options.name } })}\n`);
  });
  onHello = undefined;
  helloFailed = undefined;
  if (hello.protocol !== PROTOCOL) {
    closedByUs = true;
    socket.destroy();
    return { hello, client: undefined };
  }

  const client: EngineClient = {
    mode: 'engine',
    call<C extends EngineChannel>(channel: C, ...args: EngineArgs<C>): Promise<EngineResult<C>> {
      if (lostReason !== undefined) return Promise.reject(new AirlockError('engine_unavailable', `the Airlock engine stopped: ${lostReason}; the next command starts a new one`));
      const id = nextId++;
      return new Promise<EngineResult<C>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        socket.write(`${encodeMessage({ id, channel, args })}\n`);
      });
    },
    subscribe<T extends PushTopic>(topic: T, listener: (payload: PushPayload<T>) => void) {
      let set = listeners.get(topic);
      if (!set) listeners.set(topic, (set = new Set()));
      set.add(listener as (payload: unknown) => void);
      return () => set.delete(listener as (payload: unknown) => void);
    },
    onLost(listener) {
      lostListeners.add(listener);
      return () => lostListeners.delete(listener);
    },
    async close() {
      if (closedByUs) return;
      closedByUs = true;
      await new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      });
    },
  };
  return { hello, client };
}

/** The engine's hello when every field is what an engine sends (a build id of plain characters, a real pid), else undefined. */
export function wellFormedHello(value: Record<string, unknown>): EngineHello | undefined {
  const { protocol, build, pid, tasks, settings } = value;
  if (typeof protocol !== 'number' || !Number.isSafeInteger(protocol)) return undefined;
  if (typeof build !== 'string' || !/^[\w.+-]{1,80}$/.test(build)) return undefined;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 1) return undefined;
  if (typeof tasks !== 'number' || !Number.isSafeInteger(tasks) || tasks < 0) return undefined;
  if (settings !== undefined && (typeof settings !== 'string' || !/^[0-9a-f]{1,64}$/.test(settings))) return undefined;
  return { protocol, build, pid, tasks, ...(settings === undefined ? {} : { settings }) };
}
