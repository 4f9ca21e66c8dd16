/**
 * What a client of Airlock's engine holds: one typed function per channel of the engine's
 * contract, and the pushes. The CLI and the app's main process are written against this alone;
 * whether the engine is another process (the engine's socket) or runs in the client's own process
 * (AIRLOCK_ENGINE=inprocess) is decided once, when the client is made.
 */
import type { PushPayload, PushTopic } from '../../../preload/contract.js';
import type { EngineArgs, EngineChannel, EngineResult } from './engine-contract.js';

export interface EngineClient {
  /** `engine`: a separate engine process over its socket; `inprocess`: the core in this process. */
  readonly mode: 'engine' | 'inprocess';
  /** Answers one call; an error envelope is thrown as an AirlockError (code, message, hint). */
  call<C extends EngineChannel>(channel: C, ...args: EngineArgs<C>): Promise<EngineResult<C>>;
  /** Every push of a topic, from now on (event batches, task list, approvals, image builds, screen frames this client watches). */
  subscribe<T extends PushTopic>(topic: T, listener: (payload: PushPayload<T>) => void): () => void;
  /** Called once if the engine goes away under the client (it died, or was stopped): one line saying so. */
  onLost(listener: (reason: string) => void): () => void;
  /** Ends this client: its watches and screen control end; tasks it asked to end with it are stopped. */
  close(): Promise<void>;
}
