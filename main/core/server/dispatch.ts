/**
 * How a typed contract is answered, whoever the transport is (Electron IPC in the app, the
 * engine's Unix socket, the e2e bridge's WebSocket, a CLI running the core in its own process):
 * schema check → handler → envelope. No handler can skip the check, and no error crosses a
 * boundary as anything but `{ ok: false, error: { code, message, hint } }`.
 */
import type { z } from 'zod';
import { isAirlockError } from '../errors.js';
import type { ErrorEnvelope, PushPayload, PushTopic, Returns } from '../../../preload/contract.js';

/** A contract: channel name → argument schema, and (as a type only) what it returns. */
export type AnyContract = Record<string, { args: z.ZodType<readonly unknown[]>; result: Returns<unknown> }>;
export type ArgsOf<K extends AnyContract, C extends keyof K> = z.infer<K[C]['args']>;
export type ResultOf<K extends AnyContract, C extends keyof K> = K[C]['result'] extends Returns<infer R> ? R : never;

/**
 * Who made a call: a window's contents, a socket connection, a bridge connection. Most pushes go
 * to every caller; a few belong to the caller that asked (the frames of a screen it watches).
 */
export interface Caller {
  /** Sends one push to this caller alone; nothing once it is gone. */
  push<T extends PushTopic>(topic: T, payload: PushPayload<T>): void;
  /** Calls `listener` once when the caller goes away (closed, crashed, reloaded). Returns the undo. */
  onGone(listener: () => void): () => void;
  /** Bytes sent to this caller that it has not read yet, where the transport can tell (a socket). */
  backlog?(): number;
  /** What kind of client it says it is (its hello: cli, app, e2e), where the transport knows. */
  readonly client?: string;
}

/** The channel's checked arguments, then who called. */
export type ContractHandler<K extends AnyContract, C extends keyof K> = (...args: [...ArgsOf<K, C>, caller: Caller]) => ResultOf<K, C> | Promise<ResultOf<K, C>>;
export type ContractHandle<K extends AnyContract> = <C extends keyof K & string>(channel: C, handler: ContractHandler<K, C>) => void;

export type Log = (message: string, error?: unknown) => void;

export function logToConsole(message: string, error?: unknown): void {
  if (error === undefined) console.error(message);
  else console.error(message, error);
}

/** Schema check → handler → envelope, for a caller whose identity the transport already checked. */
export async function invokeContract<K extends AnyContract, C extends keyof K & string>(
  contract: K,
  channel: C,
  handler: ContractHandler<K, C>,
  rawArgs: unknown[],
  caller: Caller,
  log: Log = logToConsole,
  prefix = '',
): Promise<ErrorEnvelope<ResultOf<K, C>>> {
  const parsed = contract[channel]!.args.safeParse(rawArgs);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.length ? `[${issue.path.join('.')}] ` : ''}${issue.message}`);
    return { ok: false, error: { code: 'bad_argument', message: `${channel}: invalid arguments: ${issues.join('; ')}` } };
  }
  try {
    const value = await handler(...([...(parsed.data as ArgsOf<K, C>), caller] as [...ArgsOf<K, C>, Caller]));
    return { ok: true, value };
  } catch (error) {
    if (isAirlockError(error)) {
      return { ok: false, error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } };
    }
    // Unexpected errors stay in this process's log: their text may carry anything.
    log(`${prefix}${channel} failed`, error);
    return { ok: false, error: { code: 'internal', message: `${channel} failed unexpectedly; details are in the Airlock log` } };
  }
}

/** A registry of one handler per channel, checked complete before anything is served. */
export class HandlerTable<K extends AnyContract> {
  readonly #contract: K;
  readonly #handlers = new Map<string, ContractHandler<K, keyof K & string>>();

  constructor(contract: K) {
    this.#contract = contract;
  }

  readonly handle: ContractHandle<K> = (channel, handler) => {
    if (!(channel in this.#contract)) throw new Error(`${channel} is not a channel of this contract`);
    if (this.#handlers.has(channel)) throw new Error(`${channel} already has a handler`);
    this.#handlers.set(channel, handler as unknown as ContractHandler<K, keyof K & string>);
  };

  /** Throws unless every channel has a handler, so a missing one fails at start-up. */
  assertComplete(): void {
    const missing = Object.keys(this.#contract).filter((channel) => !this.#handlers.has(channel));
    if (missing.length > 0) throw new Error(`channels without a handler: ${missing.join(', ')}`);
  }

  channels(): string[] {
    return [...this.#handlers.keys()];
  }

  /** Answers one call; an unknown channel is a bad_argument envelope, never an exception. */
  invoke(channel: string, rawArgs: unknown, caller: Caller, log?: Log): Promise<ErrorEnvelope<unknown>> {
    const handler = this.#handlers.get(channel);
    if (!handler || !Array.isArray(rawArgs)) {
      return Promise.resolve({ ok: false, error: { code: 'bad_argument', message: `no channel ${String(channel).slice(0, 80)}` } });
    }
    return invokeContract(this.#contract, channel as keyof K & string, handler, rawArgs, caller, log) as Promise<ErrorEnvelope<unknown>>;
  }
}
