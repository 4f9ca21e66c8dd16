/**
 * AIRLOCK_ENGINE=inprocess: the engine's contract answered by a core running in the client's own
 * process (CI, containers, places where a background process is unwanted). The same handlers, the
 * same schema checks and envelopes as over the socket: only the transport differs.
 */
import { AirlockError } from '../errors.js';
import type { Airlock } from '../airlock.js';
import type { PushPayload, PushTopic } from '../../../preload/contract.js';
import type { EngineClient } from './client.js';
import { HandlerTable, type Caller } from './dispatch.js';
import { engineContract, type EngineArgs, type EngineChannel, type EngineContract, type EngineHandlers, type EngineResult } from './engine-contract.js';
import { serviceHandlers } from './service-handlers.js';

type Listener = (payload: unknown) => void;

export interface InProcessOptions {
  /** Handlers for the engine-only channels (default: those of an in-process core). */
  engineHandlers?: Partial<EngineHandlers>;
  /** Where unexpected handler errors are logged. */
  log?: (message: string, error?: unknown) => void;
}

export function inProcessClient(airlock: Airlock, options: InProcessOptions = {}): EngineClient {
  const table = new HandlerTable(engineContract);
  const handlers: EngineHandlers = {
    ...serviceHandlers(airlock.service),
    'engine.status': () => {
      throw new AirlockError('not_found', 'no engine: this command runs Airlock in its own process (AIRLOCK_ENGINE=inprocess)', 'unset AIRLOCK_ENGINE to use the engine');
    },
    'engine.stop': () => undefined,
    ...options.engineHandlers,
  } as EngineHandlers;
  for (const channel of Object.keys(handlers) as EngineChannel[]) table.handle(channel, handlers[channel] as never);
  table.assertComplete();

  const listeners = new Map<PushTopic, Set<Listener>>();
  const gone = new Set<() => void>();
  const deliver = (topic: PushTopic, payload: unknown) => {
    for (const listener of listeners.get(topic) ?? []) listener(payload);
  };
  const caller: Caller = {
    push: (topic, payload) => deliver(topic, payload),
    onGone: (listener) => {
      gone.add(listener);
      return () => gone.delete(listener);
    },
  };
  const unsubscribe = airlock.service.subscribe((push) => deliver(push.topic, push.payload));
  let closed = false;

  return {
    mode: 'inprocess',
    async call<C extends EngineChannel>(channel: C, ...args: EngineArgs<C>): Promise<EngineResult<C>> {
      if (closed) throw new AirlockError('engine_unavailable', 'this Airlock client is closed');
      const envelope = await table.invoke(channel, args, caller, options.log);
      if (!envelope.ok) throw new AirlockError(envelope.error.code as never, envelope.error.message, envelope.error.hint);
      return envelope.value as EngineResult<C>;
    },
    subscribe<T extends PushTopic>(topic: T, listener: (payload: PushPayload<T>) => void) {
      let set = listeners.get(topic);
      if (!set) listeners.set(topic, (set = new Set()));
      set.add(listener as Listener);
      return () => set.delete(listener as Listener);
    },
    onLost: () => () => undefined,
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      for (const listener of [...gone]) listener();
      gone.clear();
      await airlock.close();
    },
  };
}

export type { EngineContract };
