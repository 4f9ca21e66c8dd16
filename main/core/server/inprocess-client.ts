/**
 * AIRLOCK_ENGINE=inprocess: the engine's contract answered by a core running in the client's own
 * process (CI, containers, places where a background process is unwanted). The same handler
 * table, schema checks and envelopes as over the socket: only the transport differs.
 */
import { AirlockError, type AirlockErrorCode } from '../errors.js';
import type { Airlock } from '../airlock.js';
import type { PushPayload, PushTopic } from '../../../preload/contract.js';
import type { EngineClient } from './client.js';
import type { Caller, HandlerTable, Log } from './dispatch.js';
import type { EngineArgs, EngineChannel, EngineContract, EngineResult } from './engine-contract.js';
import { createEngineHandlers, type ProcessHandlers } from './engine-handlers.js';

type Listener = (payload: unknown) => void;

/** The engine-only channels when there is no engine process: `who` runs the core in its own process. */
function noEngineProcess(who: string): ProcessHandlers[keyof ProcessHandlers] {
  return () => {
    throw new AirlockError('not_found', `no engine: ${who} runs Airlock in its own process (AIRLOCK_ENGINE=inprocess)`, 'unset AIRLOCK_ENGINE to use the engine');
  };
}

/** The one handler table of a core that runs in this process, with no engine process around it. */
export function inProcessHandlers(airlock: Airlock, who: string): HandlerTable<EngineContract> {
  const none = noEngineProcess(who);
  return createEngineHandlers(airlock, { 'engine.status': none, 'engine.stop': none, 'engine.retire': none } as ProcessHandlers);
}

/** A client of a core in this process; `close()` closes the core too. */
export function inProcessClient(airlock: Airlock, log?: Log): EngineClient {
  return callerClient(inProcessHandlers(airlock, 'this command'), airlock.service, { log, onClose: () => airlock.close(), client: 'cli' });
}

/**
 * One caller of a handler table in this process (several may share one table: the e2e harness's
 * connections, say). Pushes of the service go to every caller; per-caller pushes to this one.
 */
export function callerClient(
  table: HandlerTable<EngineContract>,
  service: Airlock['service'],
  options: { log?: Log | undefined; onClose?: () => Promise<void>; client?: string } = {},
): EngineClient {
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
    ...(options.client ? { client: options.client } : {}),
  };
  const unsubscribe = service.subscribe((push) => deliver(push.topic, push.payload));
  let closed = false;

  return {
    mode: 'inprocess',
    async call<C extends EngineChannel>(channel: C, ...args: EngineArgs<C>): Promise<EngineResult<C>> {
      if (closed) throw new AirlockError('engine_unavailable', 'this Airlock client is closed');
      const envelope = await table.invoke(channel, args, caller, options.log);
      if (!envelope.ok) throw new AirlockError(envelope.error.code as AirlockErrorCode, envelope.error.message, envelope.error.hint);
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
      await options.onClose?.();
    },
  };
}
