/**
 * STUB until the engine helper's connect.ts lands (branch i14-engine replaces this file whole):
 * only the in-process branch. Same signature as I14-SHAPES.md.
 */
import { createAirlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import type { EngineClient } from './client.js';
import { inProcessClient } from './inprocess-client.js';

/** How to start the engine process: a program and its arguments (the CLI bundle's `engine serve`). */
export interface EngineSpawn {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export function connectEngine(options: { env?: NodeJS.ProcessEnv; start?: boolean; spawn?: EngineSpawn } = {}): Promise<EngineClient> {
  const env = options.env ?? process.env;
  if (env.AIRLOCK_ENGINE === 'inprocess') return Promise.resolve(inProcessClient(createAirlock({ env })));
  return Promise.reject(new AirlockError('engine_unavailable', 'no engine socket yet (stub)', 'set AIRLOCK_ENGINE=inprocess'));
}
